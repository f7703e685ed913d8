import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '../../src/domain/task-state.ts';
import { registry } from '../../src/observability/metrics.ts';
import {
  request,
  startTestManager,
  untilPropletAlive,
  type TestManager,
} from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Everything a proplet topic carries that the manager cannot use is dropped, counted by reason, and
 * changes nothing: the task under way goes on and completes, and no proplet appears that was not there.
 */
const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

let harness: TestManager;
/** Holds the task the bad messages aim at; keeps it running until told. */
let holder: SimulatedProplet;
/** Registered, but holds nothing. */
let other: SimulatedProplet;

const api = (method: string, path: string, body?: unknown) => request(harness.baseUrl, method, path, body);

async function resultJobsDone(): Promise<number> {
  const metric = await registry.getSingleMetric('propeller_queue_jobs_processed_total')!.get();
  return metric.values
    .filter((value) => value.labels.queue === 'task-results' && value.labels.job === 'result')
    .reduce((sum, value) => sum + value.value, 0);
}

async function rejected(): Promise<Map<string, number>> {
  const metric = await registry.getSingleMetric('propeller_mqtt_rejected_payloads_total')!.get();
  return new Map(metric.values.map((value) => [`${value.labels.topic} ${value.labels.reason}`, value.value]));
}

const delta = (after: Map<string, number>, before: Map<string, number>) =>
  Object.fromEntries(
    [...after]
      .map(([key, value]) => [key, value - (before.get(key) ?? 0)] as const)
      .filter(([, moved]) => moved > 0),
  );

before(async () => {
  harness = await startTestManager({ MANAGER_PROPLET_MAX_PACKET_SIZE: '64KiB' });
  holder = await new SimulatedProplet(harness.config.mqtt, () => 'keep-running').start();
  other = await new SimulatedProplet(harness.config.mqtt).start();
  for (const sim of [holder, other]) await untilPropletAlive(harness.baseUrl, sim.id);
});

after(async () => {
  await holder.stop();
  await other.stop();
  await harness.close();
});

describe('MQTT payloads the manager cannot use', () => {
  it('are dropped and counted by reason, and no task or proplet changes', async () => {
    const created = await api('POST', '/tasks', { name: 'held', file: WASM, proplet_id: holder.id });
    const taskId = created.body.id as string;
    assert.equal((await api('POST', `/tasks/${taskId}/start`)).status, 200);
    await holder.waitForStart(taskId);
    const proplets = (await api('GET', '/proplets')).body.total as number;
    const before = await rejected();
    const stranger = randomUUID();
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const sample = (propletId: string, task = taskId) => ({
      task_id: task,
      proplet_id: propletId,
      metrics: { cpu_percent: 1 },
    });
    const propletSample = (propletId: string) => ({
      proplet_id: propletId,
      namespace: 'default',
      cpu_metrics: { user_seconds: 1, system_seconds: 1, percent: 1 },
      memory_metrics: { rss_bytes: 1, heap_alloc_bytes: 1, heap_sys_bytes: 1, heap_inuse_bytes: 1 },
    });

    const sent: Array<[string, unknown]> = [
      // too_large: a result beyond the proplet packet limit, a heartbeat beyond what any has.
      ['control/proplet/results', { task_id: taskId, proplet_id: holder.id, results: 'r'.repeat(70_000) }],
      ['control/proplet/alive', { proplet_id: holder.id, status: 'alive', padding: 'p'.repeat(70_000) }],
      // not_json
      ['control/proplet/results', 'not json {'],
      // too_deep: once overflowed a recursive walk and was retried forever.
      ['control/proplet/results', deep],
      ['control/proplet/task_metrics', `{"task_id":"${taskId}","proplet_id":"x","metrics":${deep}}`],
      // schema
      ['control/proplet/results', { task_id: 7 }],
      ['control/proplet/create', { proplet_id: 'p-1', metadata: { tags: 'not a list' } }],
      // bad_id: not UUIDs where the manager's ids are; control characters, NUL, whitespace, length.
      ['control/proplet/results', { task_id: 'task-1', proplet_id: holder.id, results: 'x' }],
      ['control/proplet/invoke_results', { task_id: taskId, invocation_id: 'inv-1', results: 'x' }],
      ['control/proplet/alive', { proplet_id: 'p\u0000', status: 'alive' }],
      ['control/proplet/create', { proplet_id: 'evil\u202eproplet' }],
      ['control/proplet/create', { proplet_id: 'x'.repeat(300) }],
      ['control/proplet/metrics', propletSample(' padded ')],
      ['control/proplet/results', { task_id: taskId, proplet_id: `${holder.id}\n`, results: 'x' }],
      // unknown_proplet: never discovered, never beat.
      ['control/proplet/results', { task_id: taskId, proplet_id: stranger, results: 'forged' }],
      [
        'control/proplet/invoke_results',
        { task_id: taskId, invocation_id: randomUUID(), proplet_id: stranger },
      ],
      ['control/proplet/task_metrics', sample(stranger)],
      ['control/proplet/metrics', propletSample(stranger)],
      // unknown_task
      ['control/proplet/results', { task_id: randomUUID(), proplet_id: holder.id, results: 'x' }],
      ['control/proplet/task_metrics', sample(holder.id, randomUUID())],
      // not_holder: a registered proplet that does not hold the task.
      ['control/proplet/results', { task_id: taskId, proplet_id: other.id, results: 'forged' }],
    ];
    for (const [topic, payload] of sent) await other.publish(topic, payload);

    const expected = {
      'control/proplet/results too_large': 1,
      'control/proplet/alive too_large': 1,
      'control/proplet/results not_json': 1,
      'control/proplet/results too_deep': 1,
      'control/proplet/task_metrics too_deep': 1,
      'control/proplet/results schema': 1,
      'control/proplet/create schema': 1,
      'control/proplet/results bad_id': 2,
      'control/proplet/invoke_results bad_id': 1,
      'control/proplet/alive bad_id': 1,
      'control/proplet/create bad_id': 2,
      'control/proplet/metrics bad_id': 1,
      'control/proplet/results unknown_proplet': 1,
      'control/proplet/invoke_results unknown_proplet': 1,
      'control/proplet/task_metrics unknown_proplet': 1,
      'control/proplet/metrics unknown_proplet': 1,
      'control/proplet/results unknown_task': 1,
      'control/proplet/task_metrics unknown_task': 1,
      'control/proplet/results not_holder': 1,
    };
    const total = Object.values(expected).reduce((sum, n) => sum + n, 0);
    const moved = await waitFor(async () => {
      const now = delta(await rejected(), before);
      return Object.values(now).reduce((sum, n) => sum + n, 0) >= total ? now : undefined;
    }, `${total} rejections`);
    assert.deepEqual(moved, expected);

    // Nothing changed: the task still runs on its holder, no sample was stored, no proplet was added.
    const task = (await api('GET', `/tasks/${taskId}`)).body;
    assert.equal(task.state, TaskState.Running);
    assert.equal(task.proplet_id, holder.id);
    assert.equal(task.results, undefined);
    assert.equal((await api('GET', `/tasks/${taskId}/metrics`)).body.total, 0);
    assert.equal((await api('GET', '/proplets')).body.total, proplets);
    assert.equal((await api('GET', `/proplets/${stranger}/metrics`)).status, 404);

    // And the holder's own result still completes it.
    await holder.publishResult(taskId, 'real');
    await waitFor(
      async () => (await api('GET', `/tasks/${taskId}`)).body.state === TaskState.Completed,
      'the task completed by its holder',
    );
    assert.equal((await api('GET', `/tasks/${taskId}/results`)).body.results, 'real');
  });

  it('does not count a duplicate result of a finished task as a rejection', async () => {
    const created = await api('POST', '/tasks', { name: 'twice', file: WASM, proplet_id: holder.id });
    const taskId = created.body.id as string;
    await api('POST', `/tasks/${taskId}/start`);
    await holder.waitForStart(taskId);
    await holder.publishResult(taskId, 'once');
    await waitFor(
      async () => (await api('GET', `/tasks/${taskId}`)).body.state === TaskState.Completed,
      'completed',
    );
    const before = await rejected();
    const jobsBefore = await resultJobsDone();
    await holder.publishResult(taskId, 'again');
    await holder.publishResult(randomUUID(), 'for no task');
    await waitFor(async () => (await resultJobsDone()) - jobsBefore >= 2, 'both results handled');
    assert.deepEqual(delta(await rejected(), before), { 'control/proplet/results unknown_task': 1 });
    assert.equal((await api('GET', `/tasks/${taskId}/results`)).body.results, 'once');
  });
});
