import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { TaskState } from '../../src/domain/task-state.ts';
import { registry } from '../../src/observability/metrics.ts';
import { openEventStream, type EventStreamClient, type StreamFrame } from '../support/event-stream.ts';
import {
  request,
  startTestManager,
  type TestManager,
  untilPropletAlive,
} from '../support/manager-harness.ts';
import { exitCode, managerProcesses } from '../support/manager-process.ts';
import { SimulatedProplet, type StartBehaviour } from '../support/simulated-proplet.ts';
import { TEST_REDIS_URL } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

async function gauge(name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  return (await metric!.get()).values[0]?.value ?? 0;
}

/** The states a task went through on the stream, with the state each change left. */
function transitions(stream: EventStreamClient, taskId: string): Array<[number | null, number]> {
  return stream.taskEvents(taskId).map((frame) => [frame.data.previous_state, frame.data.state]);
}

async function createTask(baseUrl: string, name = 'add'): Promise<string> {
  const created = await request(baseUrl, 'POST', '/tasks', { name, file: WASM, inputs: [2, 3] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id as string;
}

async function aliveProplet(
  baseUrl: string,
  topics: { tenantId: string; channelId: string },
  behaviour?: StartBehaviour,
): Promise<SimulatedProplet> {
  const proplet = new SimulatedProplet(topics, behaviour);
  await proplet.start();
  await untilPropletAlive(baseUrl, proplet.id);
  return proplet;
}

/**
 * Opens a stream, waits for it to be live, starts a task a proplet completes, and checks that the stream
 * told every step: created (Pending), Scheduled, Running on that proplet, Completed.
 */
async function assertLifecycleStreamed(
  baseUrl: string,
  topics: { tenantId: string; channelId: string },
): Promise<void> {
  const stream = await openEventStream(baseUrl);
  const proplet = await aliveProplet(baseUrl, topics);
  try {
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    await stream.next((frame) => frame.event === 'ready', 'ready');
    const taskId = await createTask(baseUrl);
    assert.equal((await request(baseUrl, 'POST', `/tasks/${taskId}/start`)).status, 200);
    const done = await stream.next(
      (frame) => frame.event === 'task' && frame.data.task_id === taskId && frame.data.state === 3,
      'Completed event',
      30_000,
    );
    const steps = transitions(stream, taskId);
    assert.deepEqual(steps.slice(0, 3), [
      [null, TaskState.Pending],
      [TaskState.Pending, TaskState.Scheduled],
      [TaskState.Scheduled, TaskState.Running],
    ]);
    assert.deepEqual(steps.at(-1), [TaskState.Running, TaskState.Completed]);
    // Each change left the state the one before it reached. (On a machine so loaded that heartbeats come
    // late, the proplet may be taken for dead once and the task run again: Running, Scheduled, Running.)
    steps.slice(1).forEach(([previous], i) => assert.equal(previous, steps[i]![1]));
    if (steps.length !== 4) assert.equal(done.data.attempt, 2, JSON.stringify(steps));
    const events = stream.taskEvents(taskId);
    assert.deepEqual(
      events.map((frame) => frame.data.kind),
      ['created', ...steps.slice(1).map(() => 'changed')],
    );
    assert.equal(events[2]!.data.proplet_id, proplet.id);
    assert.equal(events[2]!.data.state_name, 'Running');
    assert.equal(done.data.previous_state_name, 'Running');
    if (steps.length === 4) assert.equal(done.data.attempt, 1);
    assert.equal(done.data.error, null);
    assert.equal(done.data.name, 'add');
    assert.ok(Math.abs(Date.parse(done.data.time) - Date.now()) < 30_000);
    // Positions increase along the changes of one task.
    const ids = events.map((frame) => Number(frame.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    assert.ok(ids.every((id) => Number.isSafeInteger(id) && id > 0));
  } finally {
    stream.close();
    await proplet.stop();
  }
}

/** A connection of the test's own to the manager's database. */
async function databaseClient(harness: TestManager): Promise<pg.Client> {
  const { host, port, user, password, database } = harness.config.postgres;
  const client = new pg.Client({ host, port, user, password, database });
  await client.connect();
  return client;
}

const stores = TEST_REDIS_URL === undefined ? ['postgres'] : ['redis', 'postgres'];

for (const store of stores)
  describe(`GET /events (queues in ${store})`, () => {
    let harness: TestManager;
    before(async () => {
      harness = await startTestManager({ MANAGER_QUEUE_STORE: store, MANAGER_EVENTS_HEARTBEAT: '300ms' });
    });
    after(() => harness.close());

    it('streams a task created, scheduled, run by a proplet and completed', async () => {
      await assertLifecycleStreamed(harness.baseUrl, harness.config.mqtt);
    });

    if (store !== stores[0]) return;

    it('follows only the tasks named by task_id, starting with their current state', async () => {
      const followed = await createTask(harness.baseUrl, 'followed');
      const other = await createTask(harness.baseUrl, 'other');
      const stream = await openEventStream(harness.baseUrl, `/events?task_id=${followed}`);
      try {
        const snapshot = await stream.next((frame) => frame.event === 'task', 'snapshot');
        assert.equal(snapshot.id, undefined);
        assert.deepEqual(
          {
            kind: snapshot.data.kind,
            task_id: snapshot.data.task_id,
            state: snapshot.data.state,
            name: snapshot.data.name,
          },
          { kind: 'snapshot', task_id: followed, state: TaskState.Pending, name: 'followed' },
        );
        const ready = await stream.next((frame) => frame.event === 'ready', 'ready');
        assert.deepEqual(ready.data.resumed, false);
        // No proplet: both wait, Scheduled.
        await request(harness.baseUrl, 'POST', `/tasks/${other}/start`);
        await request(harness.baseUrl, 'POST', `/tasks/${followed}/start`);
        await stream.next(
          (frame) => frame.event === 'task' && frame.data.state === TaskState.Scheduled,
          'followed task scheduled',
        );
        await request(harness.baseUrl, 'DELETE', `/tasks/${other}`);
        await request(harness.baseUrl, 'DELETE', `/tasks/${followed}`);
        const deleted = await stream.next((frame) => frame.data.kind === 'deleted', 'deletion');
        assert.equal(deleted.data.task_id, followed);
        assert.ok(stream.frames.every((frame) => frame.event !== 'task' || frame.data.task_id === followed));
        assert.ok(stream.frames.every((frame) => frame.event !== 'proplet'));
      } finally {
        stream.close();
      }
    });

    it('refuses a task_id that is not a UUID (400) or not a task (404), and other methods (405)', async () => {
      const bad = await request(harness.baseUrl, 'GET', '/events?task_id=abc');
      assert.equal(bad.status, 400);
      assert.match(bad.body.error, /task_id: expected a UUID, got 'abc'/);
      const badId = await request(harness.baseUrl, 'GET', '/events', undefined, { 'last-event-id': 'x' });
      assert.equal(badId.status, 400);
      assert.match(badId.body.error, /Last-Event-ID/);
      const missing = await request(
        harness.baseUrl,
        'GET',
        '/events?task_id=00000000-0000-4000-8000-000000000000',
      );
      assert.equal(missing.status, 404);
      assert.match(missing.body.error, /task 00000000-0000-4000-8000-000000000000 not found/);
      assert.equal((await request(harness.baseUrl, 'POST', '/events')).status, 405);
      // Unknown API paths keep their JSON 404.
      const unknown = await request(harness.baseUrl, 'GET', '/no-such-path');
      assert.deepEqual([unknown.status, unknown.body], [404, { error: 'not found' }]);
    });

    it('resumes after Last-Event-ID with the changes missed, and asks to resync when it cannot', async () => {
      // Keeps the feed on and shows when the api has read the changes the other client misses.
      const witness = await openEventStream(harness.baseUrl);
      const first = await openEventStream(harness.baseUrl);
      const taskId = await createTask(harness.baseUrl, 'resumed');
      const created = await first.next((frame) => frame.data.task_id === taskId, 'creation');
      first.close();
      await request(harness.baseUrl, 'POST', `/tasks/${taskId}/start`);
      await request(harness.baseUrl, 'POST', `/tasks/${taskId}/stop`);
      await witness.next(
        (frame) => frame.data.task_id === taskId && frame.data.state === TaskState.Failed,
        'the stop, on the witness',
      );

      const resumed = await openEventStream(harness.baseUrl, '/events', { 'last-event-id': created.id! });
      try {
        const ready = await resumed.next((frame) => frame.event === 'ready', 'ready');
        assert.equal(ready.data.resumed, true);
        // What the witness saw after the creation is replayed from the log, before `ready`: Scheduled, then
        // Failed (Running between them if a proplet of another test was still taken for alive).
        const missed = transitions(witness, taskId).slice(1);
        assert.deepEqual(missed.at(0), [TaskState.Pending, TaskState.Scheduled]);
        assert.equal(missed.at(-1)?.[1], TaskState.Failed);
        assert.deepEqual(transitions(resumed, taskId), missed);
        assert.ok(resumed.frames.indexOf(ready) > 1);
        assert.ok(resumed.frames.every((frame) => frame.event !== 'resync'));
      } finally {
        resumed.close();
        witness.close();
      }

      // A position this process never reached (another manager's, or from before a reset).
      const lost = await openEventStream(harness.baseUrl, '/events?last_event_id=999999999');
      try {
        await lost.next((frame) => frame.event === 'resync', 'resync');
        const ready = await lost.next((frame) => frame.event === 'ready', 'ready');
        assert.equal(ready.data.resumed, false);
        assert.equal(Number(ready.id), ready.data.position);
      } finally {
        lost.close();
      }
    });

    // PGlite runs one transaction at a time: no change can commit there after a later one.
    if (process.env.TEST_PGLITE_TEMPLATE === undefined)
      it('delivers a change whose transaction commits after a later one, and one rolled back never', async () => {
        const [late, early, rolledBack] = [
          await createTask(harness.baseUrl, 'late'),
          await createTask(harness.baseUrl, 'early'),
          await createTask(harness.baseUrl, 'rolled-back'),
        ];
        const stream = await openEventStream(harness.baseUrl);
        const [slow, fast, undone] = await Promise.all([
          databaseClient(harness),
          databaseClient(harness),
          databaseClient(harness),
        ]);
        try {
          await stream.next((frame) => frame.event === 'ready', 'ready');
          // Each takes its position when it changes the task, not when it commits.
          await slow.query('BEGIN');
          await slow.query('UPDATE tasks SET state = 5, updated_at = now() WHERE id = $1', [late]);
          await undone.query('BEGIN');
          await undone.query('UPDATE tasks SET state = 5, updated_at = now() WHERE id = $1', [rolledBack]);
          await fast.query('UPDATE tasks SET state = 5, updated_at = now() WHERE id = $1', [early]);
          // Creations may come first: a feed already running may not have read them when the stream began.
          const changedTo = (taskId: string, state: number) => (frame: StreamFrame) =>
            frame.data.task_id === taskId && frame.data.kind === 'changed' && frame.data.state === state;
          const first = await stream.next(changedTo(early, 5), 'the early commit');
          await undone.query('ROLLBACK');
          await slow.query('COMMIT');
          const second = await stream.next(changedTo(late, 5), 'the late commit');
          assert.ok(Number(second.id) < Number(first.id), 'the late one had the lower position');
          // The rolled-back change holds nothing up: a change after it arrives too.
          await fast.query('UPDATE tasks SET state = 4, updated_at = now() WHERE id = $1', [early]);
          await stream.next(changedTo(early, 4), 'a later change');
          assert.ok(stream.taskEvents(rolledBack).every((frame) => frame.data.kind === 'created'));
        } finally {
          stream.close();
          await Promise.all([slow.end(), fast.end(), undone.end()]);
        }
      });

    it('keeps a quiet stream open with keep-alive comments', async () => {
      const stream = await openEventStream(harness.baseUrl);
      try {
        await waitFor(() => stream.comments.includes('keep-alive'), 'keep-alive comment', 5_000);
      } finally {
        stream.close();
      }
    });

    it('tells proplets coming alive and dying', async () => {
      const stream = await openEventStream(harness.baseUrl);
      try {
        await stream.next((frame) => frame.event === 'ready', 'ready');
        const proplet = await aliveProplet(harness.baseUrl, harness.config.mqtt);
        const alive = await stream.next(
          (frame) => frame.event === 'proplet' && frame.data.proplet_id === proplet.id,
          'proplet alive',
        );
        assert.equal(alive.data.alive, true);
        proplet.crash();
        const dead = await stream.next(
          (frame) => frame.event === 'proplet' && frame.data.proplet_id === proplet.id,
          'proplet dead',
        );
        assert.equal(dead.data.alive, false);
      } finally {
        stream.close();
      }
    });

    it('forgets a client that disconnects, and drops one that does not read', async () => {
      await waitFor(async () => (await gauge('propeller_event_stream_clients')) === 0, 'no clients');
      const reader = await openEventStream(harness.baseUrl);
      const idle = await openEventStream(harness.baseUrl);
      await reader.next((frame) => frame.event === 'ready', 'ready');
      assert.equal(await gauge('propeller_event_stream_clients'), 2);
      idle.close();
      await waitFor(async () => (await gauge('propeller_event_stream_clients')) === 1, 'one client left');

      // A client that sends its request and never reads what comes back.
      const port = new URL(harness.baseUrl).port;
      const stuck = connect(Number(port), '127.0.0.1');
      stuck.pause();
      const stuckClosed = new Promise<void>((resolve) => stuck.on('close', () => resolve()));
      stuck.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      await waitFor(async () => (await gauge('propeller_event_stream_clients')) === 2, 'stuck client in');
      const dropsBefore = await gauge('propeller_event_stream_dropped_total');

      // Far more changes than socket buffers and the 256 KiB bound hold: 2 events per task, ~400 bytes each.
      const count = 12_000;
      const db = await databaseClient(harness);
      try {
        await db.query(
          `INSERT INTO tasks (id, name) SELECT gen_random_uuid(), 'bulk-' || n FROM generate_series(1, $1) n`,
          [count],
        );
        await db.query(`UPDATE tasks SET state = 5, updated_at = now() WHERE name LIKE 'bulk-%'`);
      } finally {
        await db.end();
      }
      await waitFor(
        async () => (await gauge('propeller_event_stream_dropped_total')) === dropsBefore + 1,
        'the stuck client dropped',
        60_000,
      );
      stuck.resume();
      await stuckClosed;
      // The reading client got every change.
      await waitFor(
        () => reader.frames.filter((frame) => frame.data?.name?.startsWith('bulk-')).length === 2 * count,
        'every bulk change on the reading client',
        60_000,
      );
      assert.equal(await gauge('propeller_event_stream_clients'), 1);
      reader.close();
      await waitFor(async () => (await gauge('propeller_event_stream_clients')) === 0, 'no clients');
    });
  });

describe('GET /events across processes', () => {
  const processes = managerProcesses();

  it('streams from the api process the changes made by the workers in another', async () => {
    const api = processes.spawn(['api']);
    const workers = processes.spawn(['scheduler', 'ingress', 'results', 'liveness']);
    const { baseUrl } = processes;
    await waitFor(
      async () => (await request(baseUrl, 'GET', '/health')).status === 200,
      'api health',
      30_000,
    );
    await assertLifecycleStreamed(baseUrl, {
      tenantId: processes.env.MANAGER_TENANT_ID!,
      channelId: processes.env.MANAGER_CHANNEL_ID!,
    });
    // A graceful stop ends the streams it serves instead of waiting for them.
    const stream = await openEventStream(baseUrl);
    await stream.next((frame) => frame.event === 'ready', 'ready');
    api.kill('SIGTERM');
    await stream.ended;
    assert.equal(await exitCode(api), 0, api.output());
    workers.kill('SIGTERM');
    assert.equal(await exitCode(workers), 0, workers.output());
  });
});
