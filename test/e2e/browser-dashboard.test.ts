import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

const ROOT = new URL('../../', import.meta.url);
const ADD_WASM = fileURLToPath(new URL('examples/add.wasm', ROOT));
const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
/** User input that would run script if the page inserted it as markup. */
const HOSTILE_NAME = '<img src=x onerror="window.injected=1">';

describe('the dashboard in a browser', () => {
  let harness: TestManager;
  let proplet: SimulatedProplet;
  const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

  async function runTask(name: string): Promise<string> {
    const created = await api('POST', '/tasks', { name, file: WASM });
    assert.equal(created.status, 201);
    assert.equal((await api('POST', `/tasks/${created.body.id}/start`)).status, 200);
    return created.body.id as string;
  }

  before(async () => {
    harness = await startTestManager();
    // Answers as the reference proplet would: add(2, 3) is 5, a trap is an error, a loop runs on.
    proplet = new SimulatedProplet(harness.config.mqtt, (start) => {
      if (start.name === 'loop') return 'keep-running';
      if (start.name === 'trap') return { error: 'wasm trap: unreachable executed' };
      if (start.name === 'add')
        return { results: String((start.inputs ?? []).map(Number).reduce((a, b) => a + b, 0)) };
      return { results: 'ok' };
    });
    await proplet.start();
    await waitFor(async () => (await api('GET', `/proplets/${proplet.id}`)).body?.alive === true, 'alive');
  });

  after(async () => {
    await proplet.stop();
    await harness.close();
  });

  it('shows tasks, proplets and counts, and runs a task uploaded from its form without a reload', async () => {
    // Some history to show: a failure, a task still running, one never started, a hostile name.
    const trap = await runTask('trap');
    await runTask('loop');
    const hostile = (await api('POST', '/tasks', { name: HOSTILE_NAME, file: WASM })).body.id as string;
    await waitFor(
      async () => (await api('GET', `/tasks/${trap}`)).body.state === TaskState.Failed,
      'trap failed',
    );

    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      await page.setViewportSize({ width: 1280, height: 900 });
      const response = await page.goto(`${harness.baseUrl}/`);
      assert.equal(response?.status(), 200);
      assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
      await page.locator('#connection[data-status="live"]').waitFor();
      // Without tokens there is nothing to log out of.
      assert.equal(await page.locator('#logout').isVisible(), false);
      // Set before the task runs: still there at the end means the page never reloaded.
      await page.evaluate(() => Object.assign(globalThis, { notReloaded: true }));

      // Loaded at once: the proplet alive, the failed task with its error, the hostile name as text.
      await page.locator(`#proplets tr[data-proplet-id="${proplet.id}"] .alive`).waitFor();
      const trapRow = page.locator(`#recent-tasks tr[data-task-id="${trap}"]`);
      assert.equal(await trapRow.locator('.state').textContent(), 'Failed');
      assert.equal(await trapRow.locator('.outcome').textContent(), 'wasm trap: unreachable executed');
      const hostileRow = page.locator(`#recent-tasks tr[data-task-id="${hostile}"]`);
      assert.equal(await hostileRow.locator('.name').textContent(), HOSTILE_NAME);
      assert.equal(await page.locator('#recent-tasks img').count(), 0);

      await page.fill('#task-form input[name="name"]', 'add');
      await page.fill('#task-form input[name="inputs"]', '2, 3');
      await page.setInputFiles('#task-form input[name="file"]', ADD_WASM);
      await page.click('#task-form button[type="submit"]');
      await page.locator('#form-status.ok').waitFor();
      const added = (await api('GET', '/tasks?limit=100')).body.tasks.find(
        (task: { name: string }) => task.name === 'add',
      );
      assert.ok(added, 'the form created a task named add');
      assert.deepEqual(added.inputs, ['2', '3']);
      assert.ok(added.file, 'the module was uploaded');

      const row = page.locator(`#recent-tasks tr[data-task-id="${added.id}"]`);
      await row.locator('.state', { hasText: 'Completed' }).waitFor({ timeout: 30_000 });
      await row.locator('.outcome', { hasText: '5' }).waitFor();
      const propletName = (await api('GET', `/proplets/${proplet.id}`)).body.name as string;
      assert.equal(await row.locator('td').nth(2).textContent(), propletName);
      assert.notEqual(await row.locator('.duration').textContent(), '');
      // Counted without a reload: the task just completed, and the loop still running.
      await page
        .locator('.count[data-state="3"] .count-value', { hasText: /^[1-9]/ })
        .waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('.count[data-state="2"] .count-value').textContent(), '1');
      assert.equal(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded), true);
      assert.equal(await page.evaluate(() => (globalThis as { injected?: number }).injected), undefined);
      assert.deepEqual(problems, []);

      // Deleted and gone from the page, and a proplet lost shown offline, all without a reload.
      assert.equal((await api('DELETE', `/tasks/${hostile}`)).status, 204);
      await hostileRow.waitFor({ state: 'detached', timeout: 10_000 });
      const lost = new SimulatedProplet(harness.config.mqtt);
      await lost.start();
      await page.locator(`#proplets tr[data-proplet-id="${lost.id}"] .alive`).waitFor({ timeout: 10_000 });
      lost.crash();
      await page.locator(`#proplets tr[data-proplet-id="${lost.id}"] .dead`).waitFor({ timeout: 10_000 });
      assert.equal(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded), true);

      await screenshot(page, 'dashboard.png', { fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('refuses a file that is not a .wasm, saying why, and leaves no task behind', async () => {
    const before = (await api('GET', '/tasks?limit=100')).body.total as number;
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${harness.baseUrl}/`);
      await page.locator('#connection[data-status="live"]').waitFor();
      await page.fill('#task-form input[name="name"]', 'notes');
      await page.setInputFiles('#task-form input[name="file"]', {
        name: 'notes.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('not wasm'),
      });
      await page.click('#task-form button[type="submit"]');
      const status = page.locator('#form-status.error');
      await status.waitFor();
      assert.match((await status.textContent()) ?? '', /must end in \.wasm/);
      assert.equal((await api('GET', '/tasks?limit=100')).body.total, before);
    } finally {
      await browser.close();
    }
  });
});

describe('the dashboard in a browser, with tokens required', () => {
  const OPERATOR = `operator-${randomUUID()}`;
  let harness: TestManager;
  let proplet: SimulatedProplet;

  before(async () => {
    harness = await startTestManager({ MANAGER_API_TOKENS: `ops:operator:${OPERATOR}` });
    proplet = new SimulatedProplet(harness.config.mqtt, (start) => ({
      results: String((start.inputs ?? []).map(Number).reduce((a, b) => a + b, 0)),
    }));
    await proplet.start();
  });

  after(async () => {
    await proplet.stop();
    await harness.close();
  });

  it('logs in through the form, runs a task from the page with the cookie alone, and logs out', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      await page.goto(`${harness.baseUrl}/`);
      // Sent to the form, which returns the browser to the dashboard.
      assert.equal(new URL(page.url()).pathname, '/login');
      await page.fill('input[name="token"]', OPERATOR);
      await page.click('button[type="submit"]');
      await page.waitForURL(`${harness.baseUrl}/`);
      await page.locator('#connection[data-status="live"]').waitFor();
      const cookie = (await browser.context.cookies()).find((c) => c.name === 'propeller_token');
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, 'Strict');
      // Scripts of the page cannot read it.
      assert.equal(await page.evaluate('document.cookie'), '');

      // The page's own requests (JSON, multipart upload, start) carry the cookie and its Origin.
      await page.fill('#task-form input[name="name"]', 'add');
      await page.fill('#task-form input[name="inputs"]', '4, 5');
      await page.setInputFiles('#task-form input[name="file"]', ADD_WASM);
      await page.click('#task-form button[type="submit"]');
      await page.locator('#form-status.ok').waitFor();
      await page.locator('#recent-tasks .outcome', { hasText: '9' }).waitFor({ timeout: 30_000 });

      const logout = page.locator('#logout');
      assert.ok(await logout.isVisible());
      await logout.click();
      await page.waitForURL(/\/login$/);
      assert.equal((await browser.context.cookies()).filter((c) => c.name === 'propeller_token').length, 0);
      await page.goto(`${harness.baseUrl}/`);
      assert.equal(new URL(page.url()).pathname, '/login');
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
