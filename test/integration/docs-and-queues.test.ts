import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { QUEUE_NAMES } from '../../src/queue/catalog.ts';
import { startTestManager, type TestManager } from '../support/manager-harness.ts';
import { TEST_REDIS_URL } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

/** The two pages the api serves besides its API: the reference at /docs and Bull Board at /admin/queues. */

async function get(baseUrl: string, path: string): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(`${baseUrl}${path}`, { redirect: 'manual' });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

/** The URLs a page's HTML loads: stylesheets, icons, scripts. */
const referenced = (html: string) => [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((match) => match[1]!);

const TYPES: Record<string, RegExp> = {
  css: /^text\/css/,
  js: /javascript/,
  png: /^image\/png/,
  svg: /^image\/svg\+xml/,
};
const typeOf = (url: string) => TYPES[url.split('?')[0]!.split('.').pop()!];

describe('/docs', () => {
  let harness: TestManager;
  before(async () => {
    harness = await startTestManager();
  });
  after(async () => {
    await harness.close();
  });

  it('serves the reference page, pointed at /openapi.json, and every file it loads, all from the api', async () => {
    const page = await get(harness.baseUrl, '/docs');
    assert.equal(page.status, 200);
    assert.match(page.type, /^text\/html/);
    // No inline script: the page's policy allows none, so Swagger UI is started by a file of its own.
    assert.doesNotMatch(page.text, /<script>/);
    const assets = referenced(page.text);
    const start = assets.find((asset) => asset.endsWith('start-swagger-ui.js'));
    assert.ok(start, assets.join(', '));
    assert.match((await get(harness.baseUrl, `/${start}`)).text, /url: 'openapi\.json'/);
    assert.ok(assets.length >= 3, assets.join(', '));
    for (const asset of assets) {
      // Relative to /docs, so nothing leaves the manager (no CDN, no absolute URL).
      assert.doesNotMatch(asset, /^(https?:)?\/\//);
      const served = await get(harness.baseUrl, `/${asset}`);
      assert.equal(served.status, 200, asset);
      assert.match(served.type, typeOf(asset)!, asset);
      assert.ok(served.text.length > 0);
    }
  });

  it('sends /docs/ to /docs, where the relative URLs resolve', async () => {
    const answer = await fetch(`${harness.baseUrl}/docs/`, { redirect: 'manual' });
    assert.equal(answer.status, 301);
    assert.equal(new URL(answer.headers.get('location')!, `${harness.baseUrl}/docs/`).pathname, '/docs');
  });

  it("does not serve Swagger UI's own page, which loads the petstore example from the internet", async () => {
    for (const path of ['/docs/index.html', '/docs/swagger-initializer.js', '/docs/..%2Fpackage.json']) {
      const answer = await get(harness.baseUrl, path);
      assert.equal(answer.status, 404, path);
      assert.deepEqual(JSON.parse(answer.text), { error: 'not found' });
    }
  });
});

interface BoardQueue {
  name: string;
  readOnlyMode: boolean;
  allowRetries: boolean;
  type: string;
  counts: Record<string, number>;
  jobs: Array<{ id: string }>;
}

async function boardQueues(harness: TestManager, query = ''): Promise<BoardQueue[]> {
  const answer = await get(harness.baseUrl, `/admin/queues/api/queues${query}`);
  assert.equal(answer.status, 200, answer.text);
  return (JSON.parse(answer.text) as { queues: BoardQueue[] }).queues;
}

const board = (harness: TestManager, path: string) =>
  fetch(`${harness.baseUrl}/admin/queues/api/queues/${path}`, { method: 'PUT' });

/** A start job whose data the scheduler's catalog refuses: it fails at once, for good. */
async function failedJob(harness: TestManager): Promise<{ id: string; finishedOn: number }> {
  const queue = harness.manager.resources.queues.queue('task-start');
  const id = `bad-${randomUUID()}`;
  await queue.add('start', { bogus: true }, { jobId: id });
  return waitFor(
    async () => {
      const job = await queue.getJob(id);
      // The Postgres backend may show the state a moment before the time it finished.
      return job?.finishedOn && (await job.getState()) === 'failed'
        ? { id, finishedOn: job.finishedOn }
        : undefined;
    },
    'the bad job failed',
    20_000,
  );
}

/** Bull Board reads both queue stores; where there is no Redis, only Postgres. */
const STORES = TEST_REDIS_URL === undefined ? ['postgres'] : ['redis', 'postgres'];

// One manager at a time: two on the Postgres store at once would pass Postgres's 100 connections.
for (const store of STORES) {
  describe(`/admin/queues with queues in ${store}`, () => {
    let harness: TestManager;

    before(async () => {
      harness = await startTestManager({ MANAGER_QUEUE_STORE: store });
    });

    after(async () => {
      await harness.close();
    });

    it('serves Bull Board, and what it loads, from the api; only its fonts would come from elsewhere', async () => {
      const page = await get(harness.baseUrl, '/admin/queues');
      assert.equal(page.status, 200);
      assert.match(page.type, /^text\/html/);
      assert.match(page.text, /<base href="\/admin\/queues\/"/);
      assert.match(page.text, /Propeller queues/);
      const assets = referenced(page.text);
      const external = assets.filter((url) => /^(https?:)?\/\//.test(url));
      assert.deepEqual(
        external.map((url) => new URL(url).host),
        ['fonts.googleapis.com'],
      );
      // Relative to the page's <base href>, which the pattern above also reads.
      const local = assets.filter((url) => !external.includes(url) && url !== '/admin/queues/');
      assert.ok(local.some((url) => url.endsWith('.js')));
      for (const asset of local) {
        const served = await get(
          harness.baseUrl,
          new URL(asset, `${harness.baseUrl}/admin/queues/`).pathname,
        );
        assert.equal(served.status, 200, asset);
        assert.match(served.type, typeOf(asset)!, asset);
      }
    });

    it('lists every queue of the catalog, with its actions', async () => {
      const queues = await boardQueues(harness);
      assert.deepEqual(queues.map((queue) => queue.name).sort(), [...QUEUE_NAMES].sort());
      for (const queue of queues) {
        assert.equal(queue.type, 'bullmq');
        assert.equal(queue.readOnlyMode, false);
        assert.equal(queue.allowRetries, true);
        assert.equal(typeof queue.counts.failed, 'number');
      }
    });

    it('shows a failed job, retries it and cleans it away', async () => {
      const queue = harness.manager.resources.queues.queue('task-start');
      const failed = await failedJob(harness);
      const [listed] = await boardQueues(harness, '?activeQueue=task-start&status=failed');
      assert.ok(listed!.jobs.some((job) => job.id === failed.id));
      assert.ok(listed!.counts.failed! >= 1);

      const retried = await board(harness, `task-start/${failed.id}/retry`);
      assert.equal(retried.status, 204, await retried.text());
      // Run again, and failed again, later.
      await waitFor(
        async () => {
          const job = await queue.getJob(failed.id);
          return job && (await job.getState()) === 'failed' && (job.finishedOn ?? 0) > failed.finishedOn;
        },
        'the retried job run again',
        20_000,
      );

      // Bull Board cleans jobs finished more than 5 s ago.
      await waitFor(
        async () => {
          const cleaned = await board(harness, 'task-start/clean/failed');
          assert.equal(cleaned.status, 200);
          return (await queue.getJob(failed.id)) === undefined;
        },
        'the failed job cleaned',
        20_000,
      );
      const [after] = await boardQueues(harness, '?activeQueue=task-start&status=failed');
      assert.ok(!after!.jobs.some((job) => job.id === failed.id));
    });
  });

  describe(`/admin/queues read-only, with queues in ${store}`, () => {
    let readOnly: TestManager;

    before(async () => {
      readOnly = await startTestManager({ MANAGER_QUEUE_STORE: store, MANAGER_BULLBOARD_READONLY: 'true' });
    });

    after(async () => {
      await readOnly.close();
    });

    it('read-only (MANAGER_BULLBOARD_READONLY=true): every queue shown, every action refused', async () => {
      const queues = await boardQueues(readOnly);
      assert.deepEqual(queues.map((queue) => queue.name).sort(), [...QUEUE_NAMES].sort());
      for (const queue of queues) {
        assert.equal(queue.readOnlyMode, true);
        assert.equal(queue.allowRetries, false);
      }
      const failed = await failedJob(readOnly);
      for (const action of [
        `task-start/${failed.id}/retry`,
        'task-start/retry/failed',
        'task-start/clean/failed',
        'task-start/pause',
      ]) {
        const answer = await board(readOnly, action);
        assert.equal(answer.status, 405, action);
      }
      const job = await readOnly.manager.resources.queues.queue('task-start').getJob(failed.id);
      assert.equal(await job!.getState(), 'failed');
      assert.equal(job!.finishedOn, failed.finishedOn, 'not run again');
    });
  });
}
