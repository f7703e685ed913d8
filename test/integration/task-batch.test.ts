import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { TaskBatchRepository } from '../../src/db/task-batch-repository.ts';
import { TaskEventLog } from '../../src/db/task-event-log.ts';
import { UnavailableError } from '../../src/domain/errors.ts';
import { queuePriority } from '../../src/domain/task-priority.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import { createTaskBatchBody, MAX_BATCH_TASKS } from '../../src/http/schemas/task-batch-input.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { jobIds } from '../../src/queue/catalog.ts';
import { JobQueues } from '../../src/queue/job-queues.ts';
import { TaskBatchService } from '../../src/services/task-batch-service.ts';
import { freePort } from '../support/free-port.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { TEST_REDIS_URL } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

/**
 * POST /tasks/batch against the whole manager: all or none, in request order, each task as POST /tasks would
 * make it, and with start, each started as POST /tasks/{id}/start would start it, on simulated proplets.
 */
const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
const secret = (what: string) => `${what}-${randomBytes(12).toString('hex')}`;
const TOKENS = { operator: secret('operator'), viewer: secret('viewer'), burst: secret('burst') };
/** Changes per token per hour: more than the operator makes here; the burst token uses its own up. */
const RATE_LIMIT = 100;
/** Kept small so that the limits are cheap to reach. */
const MAX_BODY = '2MiB';
const MAX_PACKET = 64 * 1024;
/** Tasks run to completion: a whole batch, but on a bare machine (PGlite, queues in it) a fifth of one. */
const RUN = TEST_REDIS_URL === undefined ? MAX_BATCH_TASKS / 5 : MAX_BATCH_TASKS;

let harness: TestManager;
const proplets: SimulatedProplet[] = [];

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const api = (method: string, path: string, body?: unknown, token = TOKENS.operator) =>
  request(harness.baseUrl, method, path, body, bearer(token));

const batchOf = (count: number, extra: (index: number) => Record<string, unknown> = () => ({})) =>
  Array.from({ length: count }, (_, index) => ({
    name: `t${index}`,
    file: WASM,
    inputs: [index],
    ...extra(index),
  }));

const totalTasks = async (): Promise<number> => (await api('GET', '/tasks?limit=1')).body.total as number;

/** The dashboard's counts by state; they are cached for a second, so a change is waited for. */
async function countsByState(): Promise<Map<number, number>> {
  const summary = (await api('GET', '/dashboard/summary')).body as {
    states: Array<{ state: number; count: number }>;
  };
  return new Map(summary.states.map(({ state, count }) => [state, count]));
}

before(async () => {
  harness = await startTestManager({
    MANAGER_API_TOKENS: `operator:operator:${TOKENS.operator},viewer:viewer:${TOKENS.viewer},burst:operator:${TOKENS.burst}`,
    MANAGER_RATE_LIMIT: `${RATE_LIMIT}/h`,
    MANAGER_HTTP_MAX_BODY: MAX_BODY,
    MANAGER_PROPLET_MAX_PACKET_SIZE: String(MAX_PACKET),
  });
});

after(async () => {
  await Promise.all(proplets.map((proplet) => proplet.stop()));
  await harness.close();
});

describe('POST /tasks/batch without start', () => {
  it(`creates ${MAX_BATCH_TASKS} tasks in request order, listed and counted as tasks created one by one`, async () => {
    const before = await totalTasks();
    const pendingBefore = (await countsByState()).get(TaskState.Pending) ?? 0;
    const created = await api('POST', '/tasks/batch', { tasks: batchOf(MAX_BATCH_TASKS) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const tasks = created.body.tasks as Array<Record<string, any>>;
    assert.equal(tasks.length, MAX_BATCH_TASKS);
    assert.deepEqual(
      tasks.map((task) => task.name),
      batchOf(MAX_BATCH_TASKS).map((task) => task.name),
    );
    assert.equal(new Set(tasks.map((task) => task.id)).size, MAX_BATCH_TASKS);
    assert.ok(tasks.every((task) => task.state === TaskState.Pending && task.attempt === 0));
    assert.deepEqual(tasks[7]!.inputs, ['7']);
    assert.equal(tasks[7]!.file, WASM);

    // Each as stored, and as GET shows a task created alone.
    const alone = await api('POST', '/tasks', { name: 'alone', file: WASM, inputs: [7] });
    const fetched = await api('GET', `/tasks/${tasks[7]!.id}`);
    assert.deepEqual(tasks[7], fetched.body);
    const { id: _a, name: _b, created_at: _c, updated_at: _d, ...shapeOfAlone } = alone.body;
    const { id: _e, name: _f, created_at: _g, updated_at: _h, ...shapeOfBatched } = fetched.body;
    assert.deepEqual(shapeOfBatched, shapeOfAlone);

    assert.equal(await totalTasks(), before + MAX_BATCH_TASKS + 1);
    // Newest first, as if posted one by one: the batch's last task, after the one created alone.
    const page = (await api('GET', '/tasks?limit=3')).body.tasks as Array<{ name: string }>;
    assert.deepEqual(
      page.map((task) => task.name),
      ['alone', `t${MAX_BATCH_TASKS - 1}`, `t${MAX_BATCH_TASKS - 2}`],
    );
    await waitFor(
      async () => (await countsByState()).get(TaskState.Pending) === pendingBefore + MAX_BATCH_TASKS + 1,
      'the dashboard counting the batch as Pending',
    );
  });

  it('stores every field as POST /tasks stores it', async () => {
    const element = {
      name: 'full',
      kind: 'federated',
      image_url: 'https://example.com/add.wasm',
      cli_args: ['--x', '1'],
      inputs: [1, '2'],
      env: { B: '2', A: '1' },
      daemon: true,
      proplet_id: 'edge-1',
      run_if: 'failure',
      monitoring_profile: { enabled: true, interval: 5 },
      mode: 'infer',
      priority: 80,
      metadata: { team: 'a', nested: { list: [1, null, 'x'], flag: false } },
      hal_storage_path: '/data',
      timeout: 30,
      max_retries: 3,
      retry_on_error: true,
      is_recurring: true,
      timezone: 'Europe/Paris',
    };
    const single = await api('POST', '/tasks', element);
    assert.equal(single.status, 201);
    const batch = await api('POST', '/tasks/batch', {
      tasks: [element, { ...element, name: 'encrypted', encrypted: true, kbs_resource_path: 'kbs:///k' }],
    });
    assert.equal(batch.status, 201, JSON.stringify(batch.body));
    const [full, encrypted] = batch.body.tasks as Array<Record<string, unknown> & { id: string }>;
    const withoutIdentity = ({ id: _i, created_at: _c, updated_at: _u, ...rest }: Record<string, unknown>) =>
      rest;
    assert.deepEqual(withoutIdentity(full!), withoutIdentity(single.body));
    assert.deepEqual(
      withoutIdentity((await api('GET', `/tasks/${full!.id}`)).body),
      withoutIdentity(single.body),
    );
    const stored = (await api('GET', `/tasks/${encrypted!.id}`)).body;
    assert.equal(stored.encrypted, true);
    assert.equal(stored.kbs_resource_path, 'kbs:///k');
    assert.deepEqual(encrypted, stored);
  });

  it('ignores unknown and server-owned fields of a task as POST /tasks does, and unknown fields of the body', async () => {
    const element = {
      name: 'sdk',
      file: WASM,
      id: 'client-chosen',
      state: 3,
      results: 'forged',
      colour: 'red',
    };
    const single = await api('POST', '/tasks', element);
    assert.equal(single.status, 201);
    const batch = await api('POST', '/tasks/batch', { tasks: [element], colour: 'red' });
    assert.equal(batch.status, 201, JSON.stringify(batch.body));
    const [task] = batch.body.tasks as Array<Record<string, unknown>>;
    assert.notEqual(task!.id, 'client-chosen');
    assert.equal(task!.state, TaskState.Pending);
    assert.equal(task!.results, undefined);
    assert.equal('colour' in task!, false);
    assert.deepEqual(Object.keys(task!).sort(), Object.keys(single.body as object).sort());
  });

  it('stores text as POST /tasks does: a lone surrogate as U+FFFD, a pair as it is', async () => {
    const element = '{"name":"a\\ud800b","image_url":"https://example.com/\\ud83d\\ude00.wasm"}';
    const single = await api('POST', '/tasks', element);
    assert.equal(single.status, 201);
    const batch = await api('POST', '/tasks/batch', `{"tasks":[${element}]}`);
    assert.equal(batch.status, 201, JSON.stringify(batch.body));
    const [task] = batch.body.tasks as Array<{ id: string; name: string; image_url: string }>;
    assert.equal(task!.name, 'a\ufffdb');
    assert.equal(task!.name, single.body.name);
    assert.equal(task!.image_url, 'https://example.com/\u{1F600}.wasm');
    assert.deepEqual((await api('GET', `/tasks/${task!.id}`)).body, task);
  });

  it('takes the empty strings whole-task clients send for a workflow, a job, a schedule', async () => {
    const batch = await api('POST', '/tasks/batch', {
      tasks: [{ name: 'go', file: WASM, workflow_id: '', job_id: '', schedule: '', depends_on: [] }],
    });
    assert.equal(batch.status, 201, JSON.stringify(batch.body));
  });
});

describe('POST /tasks/batch refusals: nothing is created', () => {
  async function refused(body: unknown, status: number, ...mentions: string[]): Promise<string> {
    const before = await totalTasks();
    const answer = await api('POST', '/tasks/batch', body);
    assert.equal(answer.status, status, JSON.stringify(answer.body).slice(0, 300));
    const error = String(answer.body.error);
    for (const mention of mentions) assert.ok(error.includes(mention), `"${error}" does not say ${mention}`);
    assert.equal(await totalTasks(), before, 'nothing created');
    return error;
  }

  it('a bad task names its place and field, and none of the others is created', async () => {
    const tasks = batchOf(20);
    tasks[7] = { ...tasks[7]!, name: '' };
    const error = await refused({ tasks, start: true }, 400, 'tasks[7].name');
    assert.ok(!error.includes('tasks[6]') && !error.includes('tasks[8]'));
  });

  it('names every bad task up to five, and counts the rest', async () => {
    const tasks = batchOf(10, (index) => (index % 2 === 0 ? { priority: 500 } : {}));
    const error = await refused({ tasks }, 400, 'tasks[0].priority', 'tasks[8].priority');
    assert.ok(!error.includes('tasks[1]'));
    const many = batchOf(30, () => ({ priority: 500 }));
    await refused({ tasks: many }, 400, 'tasks[4].priority', 'and 25 more tasks');
  });

  it(`an empty list, more than ${MAX_BATCH_TASKS} tasks or no list name tasks`, async () => {
    await refused({ tasks: [] }, 400, 'tasks');
    await refused({ tasks: batchOf(MAX_BATCH_TASKS + 1) }, 400, 'tasks', String(MAX_BATCH_TASKS));
    await refused({}, 400, 'tasks');
    await refused({ tasks: { name: 'a' } }, 400, 'tasks');
    await refused({ tasks: [1] }, 400, 'tasks[0]');
  });

  it('a start that is not a boolean names start', async () => {
    await refused({ tasks: batchOf(2), start: 'yes' }, 400, 'start');
  });

  it('fields that need work of their own per task are refused, naming the task, the field and why', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ schedule: '*/5 * * * *' }, 'schedule', 'POST /tasks'],
      [{ depends_on: [randomUUID()] }, 'depends_on', 'POST /workflows'],
      [{ workflow_id: randomUUID() }, 'workflow_id', 'POST /workflows'],
      [{ job_id: randomUUID() }, 'job_id', 'POST /jobs'],
    ];
    for (const [fields, field, instead] of cases) {
      const tasks = batchOf(3, (index) => (index === 2 ? fields : {}));
      await refused({ tasks }, 400, `tasks[2].${field}`, 'batch', instead);
    }
  });

  it('with start, a task without file or image_url is refused, naming it', async () => {
    const tasks = batchOf(4, (index) => (index === 3 ? { file: '' } : {}));
    await refused({ tasks, start: true }, 400, 'tasks[3]', 'neither file nor image_url');
    // Without start it may be created, and uploaded to later, as with POST /tasks.
    assert.equal((await api('POST', '/tasks/batch', { tasks })).status, 201);
  });

  it('a task whose start command would not fit in a proplet packet: 413 naming it, with the image_url hint', async () => {
    const big = randomBytes(MAX_PACKET).toString('base64');
    const tasks = batchOf(4, (index) => (index === 2 ? { file: big } : {}));
    await refused({ tasks }, 413, 'tasks[2]', 'image_url');
  });

  it(`a body beyond MANAGER_HTTP_MAX_BODY (${MAX_BODY}): 413`, async () => {
    const tasks = batchOf(200, () => ({ metadata: { pad: 'x'.repeat(12 * 1024) } }));
    await refused({ tasks }, 413);
  });

  it('GET /tasks/batch is not an operation (405), and batch is not read as a task id', async () => {
    assert.equal((await api('GET', '/tasks/batch')).status, 405);
    assert.equal((await api('PUT', '/tasks/batch', {})).status, 405);
  });
});

describe('POST /tasks/batch and authentication', () => {
  it('a viewer may not (403), nor a caller without a token (401); an operator may', async () => {
    const body = { tasks: batchOf(2) };
    const viewer = await api('POST', '/tasks/batch', body, TOKENS.viewer);
    assert.equal(viewer.status, 403);
    assert.match(viewer.body.error, /role viewer, which may not POST \/tasks\/batch/);
    const anonymous = await request(harness.baseUrl, 'POST', '/tasks/batch', body);
    assert.equal(anonymous.status, 401);
    assert.equal((await api('POST', '/tasks/batch', body)).status, 201);
  });

  it('counts a batch as one change against the rate limit, whatever its size', async () => {
    for (let i = 0; i < RATE_LIMIT - 1; i++)
      assert.equal((await api('POST', '/tasks/batch', {}, TOKENS.burst)).status, 400);
    const last = await api('POST', '/tasks/batch', { tasks: batchOf(50) }, TOKENS.burst);
    assert.equal(last.status, 201);
    assert.equal((await api('POST', '/tasks/batch', { tasks: batchOf(1) }, TOKENS.burst)).status, 429);
  });
});

describe('POST /tasks/batch with start', () => {
  it(`starts ${RUN} tasks, each queued as POST /tasks/{id}/start queues it, and they all complete`, async () => {
    const completedBefore = (await countsByState()).get(TaskState.Completed) ?? 0;
    const requestedAt = Date.now();
    // Before any proplet is alive, so that the start jobs are there to look at.
    const created = await api('POST', '/tasks/batch', {
      tasks: batchOf(RUN, (index) => ({ priority: index === 0 ? 90 : 40 })),
      start: true,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body).slice(0, 300));
    const tasks = created.body.tasks as Array<Record<string, any>>;
    assert.equal(tasks.length, RUN);
    assert.ok(tasks.every((task) => task.state === TaskState.Scheduled && task.attempt === 1));
    assert.equal((await api('GET', `/tasks/${tasks[9]!.id}`)).body.state, TaskState.Scheduled);

    // The job of each, as the single start makes it: its id, priority and when it was asked for.
    const queue = harness.manager.resources.queues.queue('task-start');
    for (const [index, priority] of [
      [0, 90],
      [RUN - 1, 40],
    ] as const) {
      const job = await queue.getJob(jobIds.start(tasks[index]!.id as string, 1));
      assert.ok(job, `the start job of task ${index}`);
      assert.equal(job.opts.priority, queuePriority(priority));
      assert.deepEqual(Object.keys(job.data as object).sort(), ['attempt', 'requestedAt', 'taskId']);
      assert.ok(job.data.requestedAt >= requestedAt && job.data.requestedAt <= Date.now());
    }

    for (let i = 0; i < 2; i++) {
      const proplet = new SimulatedProplet(harness.config.mqtt);
      proplets.push(proplet);
      await proplet.start();
    }
    await waitFor(
      async () =>
        (await countsByState()).get(TaskState.Completed) === completedBefore + RUN ? true : undefined,
      `${RUN} tasks completed`,
      120_000,
    );
    // Each on one proplet. A start may arrive twice there (MQTT QoS 1 is at least once, and a publish whose
    // acknowledgement was late is sent again), which proplets ignore; on two proplets it would run twice.
    const holders = new Map<string, Set<string>>();
    for (const proplet of proplets)
      for (const start of proplet.starts)
        holders.set(start.id, (holders.get(start.id) ?? new Set()).add(proplet.id));
    const batchIds = tasks.map((task) => task.id as string);
    assert.ok(
      batchIds.every((id) => holders.get(id)?.size === 1),
      'each task of the batch started on exactly one proplet',
    );
    assert.ok(
      proplets.every((proplet) => proplet.starts.length > 0),
      'both proplets took a share',
    );
    const done = await api('GET', `/tasks/${tasks[RUN / 2]!.id}`);
    assert.equal(done.body.state, TaskState.Completed);
    assert.equal(done.body.results, `ran t${RUN / 2}`);
  });

  it('the event log records each task of a started batch once, created Scheduled', async () => {
    const log = new TaskEventLog(harness.manager.resources.postgres.db);
    const watcher = `batch-test-${randomUUID()}`;
    await log.watch(watcher, 60_000);
    try {
      const from = await log.newestId();
      const created = await api('POST', '/tasks/batch', { tasks: batchOf(3), start: true });
      assert.equal(created.status, 201);
      const ids = (created.body.tasks as Array<{ id: string }>).map((task) => task.id);
      const events = (await log.after(from, [], 1_000)).filter((event) => ids.includes(event.taskId));
      const firsts = ids.map((id) => events.find((event) => event.taskId === id));
      assert.ok(firsts.every((event) => event?.kind === 'created' && event.state === TaskState.Scheduled));
      assert.ok(firsts.every((event) => event?.attempt === 1));
    } finally {
      await log.unwatch(watcher);
    }
  });

  it('when the queue cannot take the starts: 503, and none of the tasks is left behind', async () => {
    // A queue on a Redis that is not there, with the api's wait for a queue: the real failure, cheaply.
    const redis = new Redis({ host: '127.0.0.1', port: await freePort(), maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    const logger = createLogger('fatal');
    const queues = new JobQueues({ store: 'redis', redis, prefix: `{batch-${randomUUID()}}` }, logger, {
      readyWithinMs: 300,
    });
    const service = new TaskBatchService(
      new TaskBatchRepository(harness.manager.resources.postgres.db),
      queues,
      harness.manager.resources.startMessageLimit,
      logger,
    );
    const before = await totalTasks();
    const { tasks } = createTaskBatchBody.parse({ tasks: batchOf(25) });
    try {
      await assert.rejects(service.create(tasks, { start: true }), UnavailableError);
      assert.equal(await totalTasks(), before);
      // Without start nothing is queued: the same service creates them.
      assert.equal((await service.create(tasks, { start: false })).length, 25);
      assert.equal(await totalTasks(), before + 25);
    } finally {
      redis.disconnect();
      await queues.close();
    }
  });
});
