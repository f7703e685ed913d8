import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { QUEUE_NAMES } from '../../src/queue/catalog.ts';
import { COUNTED_STATES } from '../../src/queue/job-queues.ts';
import {
  request,
  startTestManager,
  type TestManager,
  untilPropletAlive,
} from '../support/manager-harness.ts';
import { samplesOf, scrape, valueOf, type Exposition } from '../support/prometheus-text.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

let harness: TestManager;
let sim: SimulatedProplet;

const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  request(harness.baseUrl, method, path, body, headers);
const metrics = () => scrape(`${harness.baseUrl}/metrics`);

/** How much `read` moved a series while `action` ran. */
async function moved(
  action: () => Promise<unknown>,
  read: (exposition: Exposition) => number,
): Promise<number> {
  const before = read(await metrics());
  await action();
  return read(await metrics()) - before;
}

const requests = (labels: Record<string, string>) => (e: Exposition) =>
  valueOf(e, 'propeller_http_requests_total', labels);

async function runTask(name: string): Promise<string> {
  const created = await api('POST', '/tasks', { name, file: WASM });
  assert.equal(created.status, 201);
  const id = created.body.id as string;
  assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
  await waitFor(
    async () => (await api('GET', `/tasks/${id}`)).body.state === TaskState.Completed,
    `${name} completed`,
  );
  return id;
}

describe('/metrics of a manager running every role', () => {
  before(async () => {
    harness = await startTestManager();
    sim = new SimulatedProplet({
      tenantId: harness.config.mqtt.tenantId,
      channelId: harness.config.mqtt.channelId,
    });
    await sim.start();
    await untilPropletAlive(harness.baseUrl, sim.id);
  });

  after(async () => {
    await sim.stop();
    await harness.close();
  });

  it('serves every series with help and type, Node process metrics and what this process is', async () => {
    const exposition = await metrics();
    const expected: Record<string, string> = {
      propeller_http_requests_total: 'counter',
      propeller_http_request_duration_seconds: 'histogram',
      manager_api_request_count: 'counter',
      manager_api_request_latency_microseconds: 'summary',
      propeller_queue_jobs_processed_total: 'counter',
      propeller_queue_job_duration_seconds: 'histogram',
      propeller_queue_depth: 'gauge',
      propeller_task_dispatch_seconds: 'histogram',
      propeller_task_end_to_end_seconds: 'histogram',
      propeller_tasks: 'gauge',
      propeller_proplets_alive: 'gauge',
      propeller_mqtt_messages_in_total: 'counter',
      propeller_mqtt_messages_out_total: 'counter',
      propeller_mqtt_publish_failures_total: 'counter',
      propeller_mqtt_rejected_payloads_total: 'counter',
      propeller_metrics_source_up: 'gauge',
      propeller_build_info: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) {
      assert.equal(exposition.types.get(name), type, name);
      assert.ok((exposition.help.get(name) ?? '').length > 10, `help of ${name}`);
    }
    assert.ok(valueOf(exposition, 'process_cpu_user_seconds_total') > 0);
    assert.ok(valueOf(exposition, 'nodejs_heap_size_used_bytes') > 0);
    const [info] = samplesOf(exposition, 'propeller_build_info');
    assert.equal(info?.labels.roles, 'api,ingress,liveness,results,scheduler');
    assert.match(info?.labels.version ?? '', /^\d+\.\d+\.\d+/);
  });

  it('counts and times requests by route pattern, method and status, failures and unmatched paths too', async () => {
    const unknownTask = randomUUID();
    const cases: Array<{ send: () => Promise<unknown>; labels: Record<string, string> }> = [
      { send: () => api('GET', '/tasks'), labels: { method: 'GET', route: '/tasks', status: '200' } },
      // The handler fails: the pattern is still the route's, ids are not in it.
      {
        send: () => api('GET', `/tasks/${unknownTask}`),
        labels: { method: 'GET', route: '/tasks/:taskId', status: '404' },
      },
      {
        send: () => api('GET', '/tasks/not-a-uuid'),
        labels: { method: 'GET', route: '/tasks/:taskId', status: '400' },
      },
      // The body parser fails, before any handler runs.
      {
        send: () => api('POST', '/tasks', '{"name": ', { 'content-type': 'application/json' }),
        labels: { method: 'POST', route: '/tasks', status: '400' },
      },
      { send: () => api('DELETE', '/health'), labels: { method: 'DELETE', route: '/health', status: '405' } },
      {
        send: () => api('GET', `/no/such/${unknownTask}`),
        labels: { method: 'GET', route: 'unmatched', status: '404' },
      },
      // A router mounted at the root.
      {
        send: () => api('GET', `/tasks/${unknownTask}/metrics`),
        labels: { method: 'GET', route: '/tasks/:taskId/metrics', status: '404' },
      },
    ];
    for (const { send, labels } of cases) {
      const before = await metrics();
      const answer = (await send()) as { status: number };
      assert.equal(String(answer.status), labels.status, JSON.stringify(labels));
      const after = await metrics();
      assert.equal(requests(labels)(after) - requests(labels)(before), 1, JSON.stringify(labels));
      const count = (e: Exposition) => valueOf(e, 'propeller_http_request_duration_seconds_count', labels);
      assert.equal(count(after) - count(before), 1, `histogram ${JSON.stringify(labels)}`);
      const inf = (e: Exposition) =>
        valueOf(e, 'propeller_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' });
      assert.equal(inf(after) - inf(before), 1);
    }
    const series = samplesOf(await metrics(), 'propeller_http_requests_total');
    assert.ok(
      series.every((sample) => !sample.labels.route!.includes(unknownTask)),
      'no ids in routes',
    );
  });

  it("keeps upstream's request series, named by operation, with latencies in microseconds", async () => {
    const count = (method: string) => (e: Exposition) => valueOf(e, 'manager_api_request_count', { method });
    assert.equal(await moved(() => api('POST', '/tasks', { name: 'upstream' }), count('create-task')), 1);
    assert.equal(await moved(() => api('GET', '/tasks'), count('list-tasks')), 1);
    // Upstream counts what reaches its service: a path no route serves is not an operation.
    const total = (e: Exposition) => valueOf(e, 'manager_api_request_count');
    assert.equal(await moved(() => api('GET', '/nowhere'), total), 0);

    const exposition = await metrics();
    const name = 'manager_api_request_latency_microseconds';
    const quantiles = samplesOf(exposition, name, { method: 'create-task' }).map((s) => s.labels.quantile);
    assert.deepEqual(quantiles, ['0.5', '0.9', '0.99']);
    const sum = valueOf(exposition, `${name}_sum`, { method: 'create-task' });
    const calls = valueOf(exposition, `${name}_count`, { method: 'create-task' });
    assert.ok(calls >= 1);
    // An insert into Postgres over HTTP takes more than 100 µs and less than a minute: microseconds.
    assert.ok(sum / calls > 100 && sum / calls < 60e6, `mean ${sum / calls}`);
  });

  it('follows a task from start to result: jobs, MQTT, dispatch and end-to-end latency', async () => {
    const before = await metrics();
    await runTask('followed');
    // The result job completes just after the task shows as completed; a batch of heartbeats (one every
    // 200 ms from the simulated proplet) may come after the task too.
    const moves = (e: Exposition, labels: Record<string, string>) =>
      valueOf(e, 'propeller_queue_jobs_processed_total', labels) >
      valueOf(before, 'propeller_queue_jobs_processed_total', labels);
    const after = await waitFor(async () => {
      const e = await metrics();
      return moves(e, { queue: 'task-results', job: 'result' }) &&
        moves(e, { queue: 'proplet-liveness', job: 'heartbeats', outcome: 'completed' })
        ? e
        : undefined;
    }, 'the result job and a heartbeat batch counted');
    const delta = (name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);

    const jobs = 'propeller_queue_jobs_processed_total';
    assert.equal(delta(jobs, { queue: 'task-start', job: 'start', outcome: 'completed' }), 1);
    assert.equal(delta(jobs, { queue: 'task-results', job: 'result', outcome: 'completed' }), 1);
    assert.equal(
      delta('propeller_queue_job_duration_seconds_count', { queue: 'task-start', job: 'start' }),
      1,
    );
    assert.equal(delta('propeller_mqtt_messages_out_total', { topic: 'control/manager/start' }), 1);
    assert.equal(delta('propeller_mqtt_messages_in_total', { topic: 'control/proplet/results' }), 1);
    assert.equal(delta('propeller_task_dispatch_seconds_count'), 1);
    assert.equal(delta('propeller_task_end_to_end_seconds_count', { outcome: 'completed' }), 1);
    const endToEnd = delta('propeller_task_end_to_end_seconds_sum', { outcome: 'completed' });
    const dispatch = delta('propeller_task_dispatch_seconds_sum');
    assert.ok(endToEnd > 0 && endToEnd < 30, `end to end ${endToEnd}`);
    assert.ok(dispatch >= 0 && dispatch <= endToEnd, `dispatch ${dispatch} within ${endToEnd}`);
    assert.ok(delta(jobs, { queue: 'proplet-liveness', job: 'heartbeats', outcome: 'completed' }) >= 1);
  });

  it('reads the state of the system when scraped: tasks by state, live proplets, every queue', async () => {
    const counted = await harness.manager.resources.postgres.pool.query<{ state: number; n: number }>(
      'SELECT state, count(*)::int AS n FROM tasks GROUP BY state',
    );
    const inDatabase = new Map(counted.rows.map((row) => [row.state, row.n]));
    // Cached for a second: wait until the scrape has caught up with the database.
    const exposition = await waitFor(async () => {
      const e = await metrics();
      const completed = valueOf(e, 'propeller_tasks', { state: 'completed' });
      return completed === (inDatabase.get(TaskState.Completed) ?? 0) ? e : undefined;
    }, 'tasks by state');
    assert.ok((inDatabase.get(TaskState.Completed) ?? 0) >= 1);
    for (const [name, state] of Object.entries(TaskState))
      assert.equal(
        valueOf(exposition, 'propeller_tasks', { state: name.toLowerCase() }),
        inDatabase.get(state) ?? 0,
        name,
      );
    assert.equal(valueOf(exposition, 'propeller_proplets_alive'), 1);
    for (const queue of QUEUE_NAMES)
      for (const state of COUNTED_STATES)
        assert.equal(samplesOf(exposition, 'propeller_queue_depth', { queue, state }).length, 1, queue);
    for (const source of ['queues', 'tasks', 'proplets'])
      assert.equal(valueOf(exposition, 'propeller_metrics_source_up', { source }), 1, source);
  });

  it('counts rejected MQTT payloads by topic and reason', async () => {
    const topic = 'control/proplet/results';
    const rejected = (reason: string) => (e: Exposition) =>
      valueOf(e, 'propeller_mqtt_rejected_payloads_total', { topic, reason });
    const before = await metrics();
    await sim.publish(topic, 'not json {');
    await sim.publish(topic, { task_id: 5 });
    const after = await waitFor(async () => {
      const e = await metrics();
      return rejected('schema')(e) > rejected('schema')(before) ? e : undefined;
    }, 'the schema rejection counted');
    assert.equal(rejected('not_json')(after) - rejected('not_json')(before), 1);
    assert.equal(rejected('schema')(after) - rejected('schema')(before), 1);
    const received = (e: Exposition) => valueOf(e, 'propeller_mqtt_messages_in_total', { topic });
    assert.equal(received(after) - received(before), 2);
  });

  it('counts a start that waits for its proplet as delayed, not failed', async () => {
    const delayed = (e: Exposition) =>
      valueOf(e, 'propeller_queue_jobs_processed_total', {
        queue: 'task-start',
        job: 'start',
        outcome: 'delayed',
      });
    const failed = (e: Exposition) =>
      valueOf(e, 'propeller_queue_jobs_processed_total', { queue: 'task-start', outcome: 'failed' });
    const before = await metrics();
    const created = await api('POST', '/tasks', { name: 'pinned', file: WASM, proplet_id: 'absent' });
    const id = created.body.id as string;
    assert.equal((await api('POST', `/tasks/${id}/start`)).status, 200);
    await waitFor(async () => delayed(await metrics()) > delayed(before), 'a delayed start');
    assert.equal(failed(await metrics()), failed(before));
    assert.equal((await api('POST', `/tasks/${id}/stop`)).status, 200);
  });
});
