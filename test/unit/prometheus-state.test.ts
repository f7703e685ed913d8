import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { TaskState } from '../../src/domain/task-state.ts';
import { registerStateGauges, type StateSources } from '../../src/observability/prometheus-state.ts';
import { parseExposition, samplesOf, valueOf } from '../support/prometheus-text.ts';

/** Sources that answer at once, counting their reads; `override` replaces some of them. */
function sources(
  override: Partial<StateSources> = {},
): StateSources & { reads: { queues: number; tasks: number; proplets: number } } {
  const reads = { queues: 0, tasks: 0, proplets: 0 };
  return {
    reads,
    queueDepth: () => {
      reads.queues++;
      return Promise.resolve([{ queue: 'task-start', counts: { waiting: 3, active: 1 } }]);
    },
    tasksByState: () => {
      reads.tasks++;
      return Promise.resolve(new Map([[TaskState.Running, 2]]));
    },
    propletsAlive: () => {
      reads.proplets++;
      return Promise.resolve(4);
    },
    ...override,
  };
}

async function scrape(registry: Registry) {
  return parseExposition(await registry.metrics());
}

describe('state gauges', () => {
  it('reports queue depth by queue and state, every task state (zero when empty) and live proplets', async () => {
    const registry = new Registry();
    registerStateGauges(registry, sources());
    const e = await scrape(registry);
    assert.equal(valueOf(e, 'propeller_queue_depth', { queue: 'task-start', state: 'waiting' }), 3);
    assert.equal(valueOf(e, 'propeller_queue_depth', { queue: 'task-start', state: 'active' }), 1);
    assert.equal(samplesOf(e, 'propeller_tasks').length, Object.keys(TaskState).length);
    assert.equal(valueOf(e, 'propeller_tasks', { state: 'running' }), 2);
    assert.equal(valueOf(e, 'propeller_tasks', { state: 'interrupted' }), 0);
    assert.equal(valueOf(e, 'propeller_proplets_alive'), 4);
    for (const source of ['queues', 'tasks', 'proplets'])
      assert.equal(valueOf(e, 'propeller_metrics_source_up', { source }), 1);
  });

  it('does not hang the scrape on a source that never answers, and does not ask it again meanwhile', async () => {
    let reads = 0;
    const registry = new Registry();
    const never = sources({
      queueDepth: () => {
        reads++;
        return new Promise(() => undefined);
      },
    });
    registerStateGauges(registry, never, { timeoutMs: 50, cacheMs: 0 });
    const started = Date.now();
    const first = await scrape(registry);
    assert.ok(Date.now() - started < 1_000, `scrape took ${Date.now() - started} ms`);
    assert.equal(samplesOf(first, 'propeller_queue_depth').length, 0, 'no stale or made-up numbers');
    assert.equal(valueOf(first, 'propeller_metrics_source_up', { source: 'queues' }), 0);
    assert.equal(valueOf(first, 'propeller_metrics_source_up', { source: 'tasks' }), 1);
    assert.equal(valueOf(first, 'propeller_proplets_alive'), 4);
    await scrape(registry);
    assert.equal(reads, 1, 'the read still under way is not started again');
  });

  it('leaves out the series of a failing source and tries it again on the next scrape', async () => {
    const registry = new Registry();
    let fail = true;
    const counted = sources();
    registerStateGauges(
      registry,
      {
        ...counted,
        tasksByState: () => {
          counted.reads.tasks++;
          if (fail) return Promise.reject(new Error('Postgres is away'));
          return Promise.resolve(new Map([[TaskState.Completed, 7]]));
        },
      },
      { cacheMs: 0 },
    );
    const down = await scrape(registry);
    assert.equal(samplesOf(down, 'propeller_tasks').length, 0);
    assert.equal(valueOf(down, 'propeller_metrics_source_up', { source: 'tasks' }), 0);
    fail = false;
    const up = await scrape(registry);
    assert.equal(valueOf(up, 'propeller_tasks', { state: 'completed' }), 7);
    assert.equal(valueOf(up, 'propeller_metrics_source_up', { source: 'tasks' }), 1);
  });

  it('reads each source once per cache period however often it is scraped', async () => {
    const registry = new Registry();
    const counted = sources();
    registerStateGauges(registry, counted, { cacheMs: 200 });
    await Promise.all([scrape(registry), scrape(registry)]);
    await scrape(registry);
    assert.deepEqual(counted.reads, { queues: 1, tasks: 1, proplets: 1 });
    await sleep(250);
    await scrape(registry);
    assert.deepEqual(counted.reads, { queues: 2, tasks: 2, proplets: 2 });
  });
});
