import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { TaskState } from '../../src/domain/task-state.ts';
import { OPERATIONS } from '../../src/http/openapi/operations.ts';
import { QUEUE_NAMES } from '../../src/queue/catalog.ts';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The two pages in a real browser (Debian's Chromium, headless) against a running manager: the API
 * reference at /docs and Bull Board at /admin/queues render, with nothing fetched from the network but
 * Bull Board's fonts. Screenshots of both are kept in docs/ for the README (UPDATE_SCREENSHOTS=1 rewrites them).
 */
const WASM = readFileSync(new URL('../../examples/add.wasm', import.meta.url)).toString('base64');
/** Bull Board's stylesheet links Google Fonts; offline, the page falls back to system fonts. */
const ALLOWED_ELSEWHERE = new Set(['fonts.googleapis.com', 'fonts.gstatic.com']);

let harness: TestManager;
let sim: SimulatedProplet;
let browser: { context: BrowserContext; close: () => Promise<void> };
let failedJobId: string;

/** A start job whose data the catalog refuses: it fails at once, and stays failed. */
async function addFailedJob(): Promise<string> {
  const queue = harness.manager.resources.queues.queue('task-start');
  const id = `bad-${randomUUID()}`;
  await queue.add('start', { bogus: true }, { jobId: id });
  await waitFor(async () => (await queue.getJob(id))?.failedReason, 'the bad job failed');
  return id;
}

before(async () => {
  harness = await startTestManager();
  sim = await new SimulatedProplet(harness.config.mqtt).start();
  browser = await launchBrowser();
  // Some finished work, so that the board has jobs to show.
  for (const inputs of [
    [2, 3],
    [4, 5],
    [6, 7],
  ]) {
    const id = (await request(harness.baseUrl, 'POST', '/tasks', { name: 'add', file: WASM, inputs })).body
      .id as string;
    await request(harness.baseUrl, 'POST', `/tasks/${id}/start`);
    await waitFor(
      async () => (await request(harness.baseUrl, 'GET', `/tasks/${id}`)).body.state === TaskState.Completed,
      'task completed',
    );
  }
  failedJobId = await addFailedJob();
});

after(async () => {
  await browser?.close();
  await sim?.stop();
  await harness?.close();
});

/** A page that records what it asked of hosts other than the manager, what failed, and its script errors. */
async function openPage(path: string): Promise<{ page: Page; elsewhere: string[]; problems: string[] }> {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  const manager = new URL(harness.baseUrl).host;
  const elsewhere: string[] = [];
  const problems: string[] = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.protocol.startsWith('http') && url.host !== manager) elsewhere.push(url.host);
  });
  page.on('requestfailed', (req) => {
    if (new URL(req.url()).host === manager) problems.push(`failed: ${req.url()}`);
  });
  page.on('response', (response) => {
    if (new URL(response.url()).host === manager && response.status() >= 400)
      problems.push(`${response.status()}: ${response.url()}`);
  });
  page.on('pageerror', (error) => problems.push(`script error: ${error.message}`));
  // What the page's content security policy blocked: the page would be missing it.
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) problems.push(`policy: ${message.text()}`);
  });
  await page.goto(`${harness.baseUrl}${path}`);
  return { page, elsewhere, problems };
}

/** Bull Board's overview, with a card per queue and its count of jobs. */
async function assertBoardOverview(page: Page): Promise<void> {
  await page.getByText('Propeller queues').first().waitFor({ timeout: 20_000 });
  await page
    .getByText(/^\d+ Jobs?$/)
    .first()
    .waitFor({ timeout: 20_000 });
  for (const name of QUEUE_NAMES) assert.ok((await page.getByText(name, { exact: true }).count()) >= 2, name);
}

describe('the pages in a browser', () => {
  it('/docs renders every operation of the document, from the manager alone', async () => {
    const { page, elsewhere, problems } = await openPage('/docs');
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    await page.getByText('Propeller Manager API').first().waitFor();
    assert.equal(await page.locator('.opblock').count(), OPERATIONS.length);
    for (const summary of ['Create a task', 'Start a task', "Upload the task's Wasm module", 'List proplets'])
      assert.ok(await page.getByText(summary, { exact: true }).first().isVisible(), summary);
    // The tags group the operations.
    for (const tag of ['tasks', 'proplets', 'workflows', 'jobs', 'health'])
      assert.ok(await page.locator(`.opblock-tag[data-tag="${tag}"]`).isVisible(), tag);
    await screenshot(page, 'docs-page.png');
    // Swagger UI resolved every reference: an operation's example body has the fields of its component.
    assert.equal(await page.locator('.errors-wrapper').count(), 0);
    await page.locator('#operations-tasks-createTask .opblock-summary').click();
    const example = page.locator('#operations-tasks-createTask .highlight-code').first();
    await example.waitFor();
    for (const field of ['"name"', '"file"', '"max_retries"'])
      assert.ok((await example.innerText()).includes(field), field);
    assert.deepEqual(elsewhere, []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('/admin/queues renders Bull Board with every queue, from the manager but for its fonts', async () => {
    const { page, elsewhere, problems } = await openPage('/admin/queues');
    await assertBoardOverview(page);
    await screenshot(page, 'bull-board.png');

    // A queue's failed jobs, with the actions of a board that is not read-only.
    await page.goto(`${harness.baseUrl}/admin/queues/queue/task-start?status=failed`);
    await page.getByText(failedJobId, { exact: true }).waitFor({ timeout: 20_000 });
    assert.ok(await page.getByRole('button', { name: 'Retry all' }).isVisible());
    assert.ok(await page.getByRole('button', { name: 'Clean all' }).isVisible());

    assert.deepEqual(
      [...new Set(elsewhere)].filter((host) => !ALLOWED_ELSEWHERE.has(host)),
      [],
    );
    assert.deepEqual(problems, []);
    await page.close();
  });
});

describe('Bull Board read-only, in a browser', () => {
  before(async () => {
    await harness.close();
    harness = await startTestManager({ MANAGER_BULLBOARD_READONLY: 'true' });
    failedJobId = await addFailedJob();
  });

  it('shows the failed job without actions', async () => {
    const { page, problems } = await openPage('/admin/queues/queue/task-start?status=failed');
    await page.getByText(failedJobId, { exact: true }).waitFor({ timeout: 20_000 });
    assert.equal(await page.getByRole('button', { name: 'Retry all' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Clean all' }).count(), 0);
    assert.deepEqual(problems, []);
    await page.close();
  });
});

describe('the pages in a browser, with tokens required', () => {
  const ADMIN = `admin-${randomUUID()}`;
  const VIEWER = `viewer-${randomUUID()}`;

  before(async () => {
    await harness.close();
    harness = await startTestManager({ MANAGER_API_TOKENS: `root:admin:${ADMIN},grafana:viewer:${VIEWER}` });
  });

  /** Opens a page, is sent to the login form, logs in there, and is brought back. */
  async function logInAt(path: string, token: string) {
    // The browser is shared: each test starts logged out.
    await browser.context.clearCookies();
    const opened = await openPage(path);
    const { page } = opened;
    assert.equal(new URL(page.url()).pathname, '/login', path);
    await page.fill('input[name="token"]', token);
    await page.click('button[type="submit"]');
    await page.waitForURL((url) => url.pathname !== '/login');
    return opened;
  }

  it('an admin logs in through the form and then sees /docs, Bull Board and the dashboard', async () => {
    const { page, problems } = await logInAt('/docs', ADMIN);
    assert.equal(new URL(page.url()).pathname, '/docs');
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    assert.equal(await page.locator('.opblock').count(), OPERATIONS.length);
    // "Try it out" works: Swagger UI's request carries the login cookie.
    const list = page.locator('#operations-tasks-listTasks');
    await list.locator('.opblock-summary').click();
    await list.locator('.try-out__btn').click();
    await list.locator('.execute').click();
    const status = list.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ timeout: 20_000 });
    assert.equal((await status.textContent())?.trim(), '200');

    await page.goto(`${harness.baseUrl}/admin/queues`);
    // Bull Board's own requests carry the cookie too.
    await assertBoardOverview(page);

    await page.goto(`${harness.baseUrl}/`);
    await page.locator('#connection[data-status="live"]').waitFor({ timeout: 20_000 });
    assert.ok(await page.locator('#logout').isVisible());
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('a viewer sees /docs and the dashboard, not Bull Board', async () => {
    const { page } = await logInAt('/admin/queues', VIEWER);
    assert.equal(new URL(page.url()).pathname, '/admin/queues');
    assert.match((await page.locator('body').textContent()) ?? '', /role viewer.*needs admin/);

    await page.goto(`${harness.baseUrl}/docs`);
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    await page.goto(`${harness.baseUrl}/`);
    await page.locator('#connection[data-status="live"]').waitFor({ timeout: 20_000 });
    await page.close();
  });

  it('a wrong token gets the form again, with an error', async () => {
    await browser.context.clearCookies();
    const { page } = await openPage('/docs');
    await page.fill('input[name="token"]', 'not-a-token');
    await page.click('button[type="submit"]');
    await page.locator('.error').waitFor();
    assert.equal(await page.locator('.error').textContent(), 'That token is not valid.');
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.close();
  });
});
