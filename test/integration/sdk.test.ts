import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import {
  PropellerClient,
  PropellerConnectionError,
  PropellerError,
  SDK_OPERATIONS,
  TaskState,
  WaitForTimeoutError,
  type ManagerEvent,
} from 'propeller-manager/sdk';
import { OPERATIONS } from '../../src/http/openapi/operations.ts';
import { closeServer, listen, boundPort } from '../../src/http/server.ts';
import { freePort } from '../support/free-port.ts';
import {
  request,
  startTestManager,
  untilPropletAlive,
  type TestManager,
} from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';

/**
 * The SDK against the whole manager (real Postgres, Redis, Mosquitto) and a simulated proplet: every group of
 * operations, the event iterator, waitFor with and without the stream, its errors, and tokens. Imported as
 * users import it, through the package's `./sdk` export.
 */
const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
const { Pending, Scheduled, Running, Completed, Failed } = TaskState;

let harness: TestManager;
let proplet: SimulatedProplet;
let client: PropellerClient;

before(async () => {
  harness = await startTestManager();
  proplet = await new SimulatedProplet({
    tenantId: harness.config.mqtt.tenantId,
    channelId: harness.config.mqtt.channelId,
  }).start();
  await untilPropletAlive(harness.baseUrl, proplet.id, 30_000);
  client = new PropellerClient({ baseUrl: harness.baseUrl });
});

after(async () => {
  await proplet?.stop();
  await harness?.close();
});

/** A task pinned to this file's proplet, which answers `ran <name>`. */
const newTask = (name: string, extra: Record<string, unknown> = {}) =>
  client.tasks.create({ name, file: WASM, proplet_id: proplet.id, ...extra });

describe('the operations table', () => {
  it('has an SDK method for every operation of the HTTP API, and the SDK none for an operation it lacks', () => {
    assert.deepEqual(
      Object.keys(SDK_OPERATIONS).sort(),
      OPERATIONS.map((operation) => operation.operationId).sort(),
    );
    for (const [operationId, method] of Object.entries(SDK_OPERATIONS)) {
      const target = method.split('.').reduce<any>((object, key) => object?.[key], client);
      assert.equal(typeof target, 'function', `${operationId}: client.${method} is not a method`);
    }
  });
});

describe('tasks', () => {
  it("types requests with the server's own schemas: a name that is not text does not compile, nor pass", async () => {
    await assert.rejects(
      // @ts-expect-error createTaskBody takes the name as a string
      client.tasks.create({ name: 42 }),
      (error: unknown) =>
        error instanceof PropellerError && error.status === 400 && /name/.test(error.message),
    );
  });

  it('runs a task end to end: create, start, waitFor Completed, results, attempts, metrics', async () => {
    const task = await newTask('sdk-e2e');
    assert.equal(task.state, Pending);
    assert.deepEqual(await client.tasks.start(task.id), { started: true });
    const done = await client.tasks.waitFor(task.id, [Completed, Failed], { timeoutMs: 30_000 });
    assert.equal(done.state, Completed);
    assert.equal(done.results, 'ran sdk-e2e');
    assert.deepEqual(await client.tasks.results(task.id), { results: 'ran sdk-e2e' });
    const { attempts } = await client.tasks.attempts(task.id);
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]?.proplet_id, proplet.id);
    assert.equal(attempts[0]?.outcome, 'completed');
    const metrics = await client.tasks.metrics(task.id, { limit: 5 });
    assert.equal(metrics.limit, 5);
    assert.ok(Array.isArray(metrics.metrics));
  });

  it('lists (with offset, limit and a metadata filter), gets, updates and deletes', async () => {
    const tag = randomUUID();
    const first = await newTask('sdk-list-1', { metadata: { tag } });
    const second = await newTask('sdk-list-2', { metadata: { tag } });
    await newTask('sdk-list-other', { metadata: { tag: 'other' } });
    const page = await client.tasks.list({ metadata: { tag }, limit: 1 });
    assert.equal(page.total, 2);
    assert.deepEqual(
      page.tasks.map((t) => t.id),
      [second.id],
    );
    const next = await client.tasks.list({ metadata: { tag }, limit: 1, offset: 1 });
    assert.deepEqual(
      next.tasks.map((t) => t.id),
      [first.id],
    );

    assert.equal((await client.tasks.get(first.id)).name, 'sdk-list-1');
    const updated = await client.tasks.update(first.id, { name: 'renamed', priority: 7 });
    assert.equal(updated.name, 'renamed');
    assert.equal(updated.priority, 7);
    assert.equal((await client.tasks.get(first.id)).priority, 7);

    assert.equal(await client.tasks.delete(first.id), undefined);
    await assert.rejects(client.tasks.get(first.id), (error: unknown) => {
      assert.ok(error instanceof PropellerError);
      assert.equal(error.status, 404);
      return true;
    });
  });

  it('uploads a .wasm file as a multipart form, and the server refuses a file that is not one', async () => {
    const add = await readFile(new URL('../../examples/add.wasm', import.meta.url));
    const task = await client.tasks.create({ name: 'add', inputs: [2, 3] });
    assert.equal(task.file, undefined);
    const uploaded = await client.tasks.upload(task.id, { bytes: add, filename: 'add.wasm' });
    assert.equal(uploaded.id, task.id);
    assert.equal(typeof uploaded.file, 'string');
    await assert.rejects(
      client.tasks.upload(task.id, { bytes: Buffer.from('not wasm'), filename: 'add.wasm' }),
      (error: unknown) =>
        error instanceof PropellerError &&
        error.status === 400 &&
        /not a WebAssembly module/.test(error.message),
    );
  });

  it('creates a batch and starts it; each task completes', async () => {
    const batch = await client.tasks.createBatch({
      tasks: [0, 1, 2].map((index) => ({ name: `sdk-batch-${index}`, file: WASM, proplet_id: proplet.id })),
      start: true,
    });
    assert.deepEqual(
      batch.tasks.map((t) => t.name),
      ['sdk-batch-0', 'sdk-batch-1', 'sdk-batch-2'],
    );
    const done = await Promise.all(
      batch.tasks.map((t) => client.tasks.waitFor(t.id, [Completed], { timeoutMs: 30_000 })),
    );
    assert.deepEqual(
      done.map((t) => t.results),
      ['ran sdk-batch-0', 'ran sdk-batch-1', 'ran sdk-batch-2'],
    );
  });

  it('stops a running task and invokes a deployed latent one', async () => {
    const latent = await newTask('sdk-latent', { latent: true });
    await client.tasks.start(latent.id);
    await client.tasks.waitFor(latent.id, [Running], { timeoutMs: 30_000 });
    assert.deepEqual(await client.tasks.invoke(latent.id, { inputs: [1, 2] }), {
      invoked: true,
      results: `ran ${latent.id}`,
    });
    assert.deepEqual(await client.tasks.stop(latent.id), { stopped: true });
    assert.equal((await client.tasks.get(latent.id)).state, Failed);
  });
});

describe('proplets', () => {
  it('lists active proplets, gets one, its alive history, SDF and metrics', async () => {
    const active = await client.proplets.list({ status: 'active', limit: 1000 });
    assert.ok(active.proplets.some((p) => p.id === proplet.id));
    const inactive = await client.proplets.list({ status: 'inactive', limit: 1000 });
    assert.ok(!inactive.proplets.some((p) => p.id === proplet.id));
    const one = await client.proplets.get(proplet.id);
    assert.equal(one.alive, true);
    const history = await client.proplets.aliveHistory(proplet.id);
    assert.ok(history.history.length >= 1);
    const sdf = await client.proplets.sdf(proplet.id);
    assert.equal(typeof sdf.sdfThing.Proplet, 'object');
    const metrics = await client.proplets.metrics(proplet.id, { offset: 0, limit: 10 });
    assert.equal(metrics.offset, 0);
    assert.ok(Array.isArray(metrics.metrics));
  });

  it('deletes a proplet that holds no task', async () => {
    const other = await new SimulatedProplet({
      tenantId: harness.config.mqtt.tenantId,
      channelId: harness.config.mqtt.channelId,
    }).start();
    await untilPropletAlive(harness.baseUrl, other.id, 30_000);
    await other.stop();
    assert.equal(await client.proplets.delete(other.id), undefined);
    await assert.rejects(
      client.proplets.get(other.id),
      (error: unknown) => error instanceof PropellerError && error.status === 404,
    );
  });
});

describe('workflows and jobs', () => {
  it('creates a workflow, views it, and its second task runs after the first', async () => {
    const [parent, child] = [randomUUID(), randomUUID()];
    const created = await client.workflows.create({
      tasks: [
        { id: parent, name: 'wf-parent', file: WASM, proplet_id: proplet.id },
        { id: child, name: 'wf-child', file: WASM, proplet_id: proplet.id, depends_on: [parent] },
      ],
    });
    assert.deepEqual(
      created.tasks.map((t) => t.id),
      [parent, child],
    );
    await client.tasks.start(parent);
    await client.tasks.waitFor(child, [Completed], { timeoutMs: 30_000 });
    const view = await client.workflows.get(created.workflow_id);
    assert.equal(view.state, Completed);
    assert.equal(view.tasks.length, 2);
  });

  it('creates, lists, views, starts and stops a job', async () => {
    const created = await client.jobs.create({
      name: 'sdk-job',
      execution_mode: 'sequential',
      tasks: [{ name: 'job-step', file: WASM, proplet_id: proplet.id }],
    });
    const jobId = created.job_id;
    assert.equal((await client.jobs.get(jobId)).name, 'sdk-job');
    const pending = await client.jobs.list({ status: 'pending', limit: 1000 });
    assert.ok(pending.jobs.some((job) => job.job_id === jobId));
    const started = await client.jobs.start(jobId);
    assert.equal(started.job_id, jobId);
    await client.tasks.waitFor(created.tasks[0]!.id, [Completed], { timeoutMs: 30_000 });
    const completed = await client.jobs.list({ status: 'completed', limit: 1000 });
    assert.ok(completed.jobs.some((job) => job.job_id === jobId));
    assert.equal((await client.jobs.stop(jobId)).job_id, jobId);
  });
});

describe('health, metrics, dashboard, document', () => {
  it('answers each', async () => {
    const health = await client.health();
    assert.equal(health.status, 'pass');
    assert.equal(health.checks.postgres, 'pass');
    assert.match(await client.prometheusMetrics(), /^# (HELP|TYPE) /m);
    const summary = await client.dashboardSummary();
    assert.ok(summary.states.some((state) => state.name === 'Completed'));
    assert.match((await client.openApiDocument()).openapi, /^3\.1/);
  });
});

describe('events', () => {
  it("follows one task's changes, and resumes after an event id", async () => {
    const task = await newTask('sdk-events');
    const seen: ManagerEvent[] = [];
    const abort = new AbortController();
    const following = (async () => {
      for await (const event of client.events({ taskIds: [task.id], signal: abort.signal })) {
        seen.push(event);
        if (event.event === 'task' && event.data.kind === 'snapshot') await client.tasks.start(task.id);
        if (event.event === 'task' && event.data.state === Completed) break;
      }
    })();
    await following;
    abort.abort();
    const tasks = seen.flatMap((event) => (event.event === 'task' ? [event.data] : []));
    assert.equal(tasks.length, seen.length, 'only task events, as the stream follows one task');
    assert.ok(tasks.every((data) => data.task_id === task.id));
    assert.equal(tasks[0]?.kind, 'snapshot', 'a snapshot of the task first');
    assert.equal(tasks[0]?.state, Pending);
    // The creation may come live too, as it raced the opening of the stream.
    const changes = seen.flatMap((event) =>
      event.event === 'task' && event.data.kind === 'changed'
        ? [{ id: event.id, state: event.data.state }]
        : [],
    );
    assert.deepEqual(
      changes.map((change) => change.state),
      [Scheduled, Running, Completed],
    );

    // From the id of the Scheduled change, the stream replays what came after it.
    const resumeFrom = changes[0]?.id;
    assert.ok(resumeFrom);
    const replayed: number[] = [];
    for await (const event of client.events({ taskIds: [task.id], lastEventId: resumeFrom })) {
      if (event.event === 'task' && event.data.kind !== 'snapshot') replayed.push(event.data.state);
      if (replayed.at(-1) === Completed) break;
    }
    assert.deepEqual(replayed, [Running, Completed]);
  });
});

/** A body that ends just after the first event with an id, as a connection dropped by a proxy would. */
function cutAfterFirstIdentifiedEvent(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Reads until there is something to hand on: a pull that enqueues nothing is not called again.
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        text += decoder.decode(value, { stream: true });
        const id = text.search(/^id: /m);
        const end = id === -1 ? -1 : text.indexOf('\n\n', id);
        if (end !== -1) {
          controller.enqueue(new TextEncoder().encode(text.slice(0, end + 2)));
          controller.close();
          break;
        }
      }
      await reader.cancel();
    },
  });
}

describe('events after a break', () => {
  it('reconnects with Last-Event-ID and misses or repeats nothing', async () => {
    const task = await newTask('sdk-reconnect');
    // The ids of its changes, as a first client sees them: started once the stream has its snapshot.
    const ids: string[] = [];
    for await (const event of client.events({ taskIds: [task.id], signal: AbortSignal.timeout(15_000) })) {
      if (event.event !== 'task') continue;
      if (event.data.kind === 'snapshot') await client.tasks.start(task.id);
      if (event.data.kind === 'changed' && event.id) ids.push(event.id);
      if (event.data.state === Completed) break;
    }
    assert.equal(ids.length, 3);
    const scheduled = ids[0]!;
    const sentIds: Array<string | null> = [];
    const breaking = new PropellerClient({
      baseUrl: harness.baseUrl,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (new URL(input).pathname !== '/events') return response;
        sentIds.push(new Headers(init.headers).get('last-event-id'));
        return sentIds.length === 1 && response.body
          ? new Response(cutAfterFirstIdentifiedEvent(response.body), response)
          : response;
      },
    });
    const states: number[] = [];
    for await (const event of breaking.events({
      taskIds: [task.id],
      lastEventId: scheduled,
      signal: AbortSignal.timeout(15_000),
    })) {
      if (event.event === 'task' && event.data.kind === 'changed') states.push(event.data.state);
      if (states.at(-1) === Completed) break;
    }
    assert.deepEqual(states, [Running, Completed]);
    assert.deepEqual(sentIds, [scheduled, ids[1]], 'one reconnection, resuming after the Running change');
  });
});

describe('events refused', () => {
  it('retries an api process that answers 503 (shutting down), and throws a 400 at once', async () => {
    const task = await newTask('sdk-503');
    let attempts = 0;
    const restarting = new PropellerClient({
      baseUrl: harness.baseUrl,
      fetch: (input, init) => {
        if (new URL(input).pathname === '/events' && ++attempts === 1)
          return Promise.resolve(Response.json({ error: 'the manager is shutting down' }, { status: 503 }));
        return fetch(input, init);
      },
    });
    for await (const event of restarting.events({
      taskIds: [task.id],
      signal: AbortSignal.timeout(15_000),
    })) {
      assert.equal(event.event === 'task' && event.data.kind, 'snapshot');
      break;
    }
    assert.equal(attempts, 2);

    const iterator = client.events({ taskIds: ['not-a-uuid'] });
    await assert.rejects(
      iterator.next(),
      (error: unknown) =>
        error instanceof PropellerError && error.status === 400 && /task_id/.test(error.message),
    );
  });
});

describe('waitFor', () => {
  it('falls back to polling GET /tasks/{id} when the event stream is refused', async () => {
    let streamAttempts = 0;
    let polls = 0;
    const noStream = new PropellerClient({
      baseUrl: harness.baseUrl,
      fetch: (input, init) => {
        const path = new URL(input).pathname;
        if (path === '/events') {
          streamAttempts++;
          return Promise.reject(new TypeError('fetch failed'));
        }
        if (path.startsWith('/tasks/')) polls++;
        return fetch(input, init);
      },
    });
    const task = await newTask('sdk-poll');
    await noStream.tasks.start(task.id);
    const done = await noStream.tasks.waitFor(task.id, [Completed], {
      timeoutMs: 30_000,
      pollIntervalMs: 50,
    });
    assert.equal(done.results, 'ran sdk-poll');
    assert.equal(streamAttempts, 1);
    assert.ok(polls >= 1);
  });

  it('rejects on timeout naming the task and its last state', async () => {
    const task = await client.tasks.create({ name: 'sdk-never' });
    await assert.rejects(client.tasks.waitFor(task.id, [Completed], { timeoutMs: 500 }), (error: unknown) => {
      assert.ok(error instanceof WaitForTimeoutError);
      assert.equal(error.taskId, task.id);
      assert.equal(error.lastState, Pending);
      assert.match(
        error.message,
        new RegExp(`task ${task.id} did not reach Completed .*last state: Pending`),
      );
      return true;
    });
  });

  it('rejects with the 404 of a task that does not exist', async () => {
    await assert.rejects(
      client.tasks.waitFor(randomUUID(), [Completed], { timeoutMs: 5_000 }),
      (error: unknown) => error instanceof PropellerError && error.status === 404,
    );
  });
});

describe('errors', () => {
  it("turns a 404 into a PropellerError with the server's message, method and path", async () => {
    const id = randomUUID();
    const raw = await request(harness.baseUrl, 'GET', `/tasks/${id}`);
    await assert.rejects(client.tasks.get(id), (error: unknown) => {
      assert.ok(error instanceof PropellerError);
      assert.equal(error.status, 404);
      assert.equal(error.message, raw.body.error);
      assert.deepEqual(error.body, raw.body);
      assert.equal(error.method, 'GET');
      assert.equal(error.path, `/tasks/${id}`);
      return true;
    });
  });

  it('turns bad input into a 400 naming the field, and creates nothing', async () => {
    const tag = randomUUID();
    await assert.rejects(
      client.tasks.create({ name: 'bad', priority: 1000, metadata: { tag } }),
      (error: unknown) =>
        error instanceof PropellerError && error.status === 400 && /priority/.test(error.message),
    );
    assert.equal((await client.tasks.list({ metadata: { tag } })).total, 0);
  });

  it('turns no answer in time into a PropellerConnectionError of kind timeout', async () => {
    // A server that takes the request and never answers.
    const silent = await listen(() => undefined, '127.0.0.1', 0);
    try {
      const slow = new PropellerClient({ baseUrl: `http://127.0.0.1:${boundPort(silent)}`, timeoutMs: 200 });
      const began = Date.now();
      await assert.rejects(slow.health(), (error: unknown) => {
        assert.ok(error instanceof PropellerConnectionError);
        assert.equal(error.kind, 'timeout');
        assert.match(error.message, /GET \/health: no answer in time/);
        return true;
      });
      assert.ok(Date.now() - began < 5_000);
    } finally {
      silent.closeAllConnections();
      await closeServer(silent);
    }
  });

  it('turns a refused connection into a PropellerConnectionError of kind network', async () => {
    const nobody = new PropellerClient({ baseUrl: `http://127.0.0.1:${await freePort()}` });
    await assert.rejects(
      nobody.tasks.list(),
      (error: unknown) => error instanceof PropellerConnectionError && error.kind === 'network',
    );
  });
});

describe('tokens', () => {
  const token = `operator-${randomBytes(12).toString('hex')}`;
  let guarded: TestManager;

  before(async () => {
    guarded = await startTestManager({ MANAGER_API_TOKENS: `operator:operator:${token}` });
  });
  after(async () => {
    await guarded?.close();
  });

  it('gets 401 without a token, and is let in with the right one, given or from PROPELLER_TOKEN', async () => {
    await assert.rejects(
      new PropellerClient({ baseUrl: guarded.baseUrl }).tasks.list(),
      (error: unknown) => error instanceof PropellerError && error.status === 401,
    );
    await assert.rejects(
      new PropellerClient({ baseUrl: guarded.baseUrl, token: 'wrong' }).tasks.list(),
      (error: unknown) => error instanceof PropellerError && error.status === 401,
    );
    const allowed = new PropellerClient({ baseUrl: guarded.baseUrl, token });
    const created = await allowed.tasks.create({ name: 'with-token' });
    assert.equal((await allowed.tasks.get(created.id)).name, 'with-token');

    const saved = { url: process.env.PROPELLER_MANAGER_URL, token: process.env.PROPELLER_TOKEN };
    process.env.PROPELLER_MANAGER_URL = guarded.baseUrl;
    process.env.PROPELLER_TOKEN = token;
    try {
      const fromEnvironment = new PropellerClient();
      assert.equal(fromEnvironment.baseUrl, guarded.baseUrl);
      assert.equal((await fromEnvironment.tasks.get(created.id)).id, created.id);
    } finally {
      for (const [name, value] of [
        ['PROPELLER_MANAGER_URL', saved.url],
        ['PROPELLER_TOKEN', saved.token],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
