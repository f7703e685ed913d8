import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { registry } from '../../src/observability/metrics.ts';
import { request, startTestManager, type TestManager } from '../support/manager-harness.ts';
import { SimulatedProplet } from '../support/simulated-proplet.ts';
import { TEST_REDIS_URL } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

/** Short, so that the prune (every tenth of the retention, at least each second) runs within the test. */
const RETENTION = '20s';
const MAX_SAMPLES = 3;

let harness: TestManager;
let sim: SimulatedProplet;

const api = (method: string, path: string) => request(harness.baseUrl, method, path);

/** Rust's SystemTime, as the upstream proplet writes its timestamps. */
const systemTime = (ms: number) => ({
  secs_since_epoch: Math.floor(ms / 1000),
  nanos_since_epoch: (ms % 1000) * 1_000_000 + 123,
});

const processMetrics = (cpu: number) => ({
  cpu_percent: cpu,
  memory_bytes: 1_048_576,
  memory_percent: 1.5,
  disk_read_bytes: 0,
  disk_write_bytes: 4096,
  uptime_seconds: 12,
  thread_count: 3,
  file_descriptor_count: null,
});

const propletSample = (propletId: string, at: unknown, rss: number) => ({
  proplet_id: propletId,
  namespace: 'default',
  timestamp: at,
  cpu_metrics: { user_seconds: 1.25, system_seconds: 0.5, percent: 12.5 },
  memory_metrics: { rss_bytes: rss, heap_alloc_bytes: 10, heap_sys_bytes: 20, heap_inuse_bytes: 10 },
});

async function metricsOf(path: string, total: number): Promise<any> {
  return waitFor(async () => {
    const page = await api('GET', path);
    assert.equal(page.status, 200);
    // The page and its total are two reads: a batch written between them shows in the total alone.
    const expectedRows = Math.max(0, Math.min(total - page.body.offset, page.body.limit));
    return page.body.total === total && page.body.metrics.length === expectedRows ? page.body : undefined;
  }, `${total} samples at ${path}`);
}

/** Samples are served for tasks and proplets that exist (an unknown id is 404). */
async function newTaskId(): Promise<string> {
  return (await request(harness.baseUrl, 'POST', '/tasks', { name: 'measured' })).body.id as string;
}

async function newPropletId(): Promise<string> {
  const id = randomUUID();
  await harness.manager.resources.postgres.pool.query('INSERT INTO proplets (id, name) VALUES ($1, $2)', [
    id,
    'measured-proplet',
  ]);
  return id;
}

async function rejectedOn(topic: string): Promise<number> {
  const metric = await registry.getSingleMetric('propeller_mqtt_rejected_payloads_total')!.get();
  return metric.values
    .filter((value) => value.labels.topic === topic)
    .reduce((sum, value) => sum + value.value, 0);
}

/** The samples' path runs through the queue store: both of them, where there is a Redis. */
const STORES = TEST_REDIS_URL === undefined ? ['postgres'] : ['redis', 'postgres'];

for (const store of STORES) {
  describe(`metrics with queues in ${store}`, () => {
    before(async () => {
      harness = await startTestManager({
        MANAGER_QUEUE_STORE: store,
        MANAGER_METRICS_RETENTION: RETENTION,
        MANAGER_METRICS_MAX_SAMPLES: String(MAX_SAMPLES),
      });
      sim = await new SimulatedProplet(harness.config.mqtt).start();
    });

    after(async () => {
      await sim.stop();
      await harness.close();
    });

    describe('task metrics', () => {
      it('records samples published by a proplet and serves them newest first, in pages', async () => {
        const taskId = await newTaskId();
        const now = Date.now();
        // Published oldest last: the order of the page is the samples' own time, not their arrival.
        await sim.publish('control/proplet/task_metrics', {
          task_id: taskId,
          proplet_id: sim.id,
          metrics: processMetrics(30),
          aggregated: { avg_cpu_usage: 20, max_cpu_usage: 30, sample_count: 3 },
          timestamp: systemTime(now - 1_000),
        });
        await sim.publish('control/proplet/task_metrics', {
          task_id: taskId,
          proplet_id: sim.id,
          metrics: processMetrics(20),
          aggregated: null,
          timestamp: new Date(now - 2_000).toISOString(),
        });
        await sim.publish('control/proplet/task_metrics', {
          task_id: taskId,
          proplet_id: sim.id,
          metrics: processMetrics(10),
          timestamp: systemTime(now - 3_000),
        });

        const page = await metricsOf(`/tasks/${taskId}/metrics`, 3);
        assert.equal(page.offset, 0);
        assert.equal(page.limit, 100);
        assert.deepEqual(
          page.metrics.map((sample: any) => sample.metrics.cpu_percent),
          [30, 20, 10],
        );
        const [newest, middle] = page.metrics;
        assert.equal(newest.task_id, taskId);
        assert.equal(newest.proplet_id, sim.id);
        assert.equal(
          newest.timestamp,
          new Date(now - 1_000).toISOString(),
          'SystemTime read as the sample time',
        );
        assert.deepEqual(newest.aggregated, { avg_cpu_usage: 20, max_cpu_usage: 30, sample_count: 3 });
        assert.equal('file_descriptor_count' in newest.metrics, false, 'a null metric is left out');
        assert.equal(newest.metrics.thread_count, 3);
        assert.equal(
          middle.timestamp,
          new Date(now - 2_000).toISOString(),
          'RFC 3339 read as the sample time',
        );
        assert.equal('aggregated' in middle, false);

        const second = (await api('GET', `/tasks/${taskId}/metrics?offset=1&limit=1`)).body;
        assert.deepEqual(
          { offset: second.offset, limit: second.limit, total: second.total },
          { offset: 1, limit: 1, total: 3 },
        );
        assert.equal(second.metrics[0].metrics.cpu_percent, 20);
        assert.deepEqual((await api('GET', `/tasks/${taskId}/metrics?limit=0`)).body.metrics, []);
        assert.equal((await api('GET', `/tasks/${taskId}/metrics?limit=x`)).status, 400);
      });

      it('takes the receive time when a sample has no readable timestamp', async () => {
        const taskId = await newTaskId();
        const before = Date.now();
        await sim.publish('control/proplet/task_metrics', {
          task_id: taskId,
          proplet_id: sim.id,
          metrics: processMetrics(5),
          timestamp: 'yesterday',
        });
        const [sample] = (await metricsOf(`/tasks/${taskId}/metrics`, 1)).metrics;
        const at = Date.parse(sample.timestamp);
        assert.ok(at >= before - 1_000 && at <= Date.now(), sample.timestamp);
      });

      it('serves an empty page for a task without samples, and 404 for an unknown task', async () => {
        const empty = await api('GET', `/tasks/${await newTaskId()}/metrics`);
        assert.equal(empty.status, 200);
        assert.deepEqual(empty.body, { offset: 0, limit: 100, total: 0, metrics: [] });
        for (const id of [randomUUID(), 'not-a-uuid']) {
          const page = await api('GET', `/tasks/${id}/metrics`);
          assert.equal(page.status, 404);
          assert.match(page.body.error, /not found/);
        }
      });
    });

    describe('proplet metrics', () => {
      it('records samples as the upstream proplet sends them and serves them newest first', async () => {
        const propletId = await newPropletId();
        const now = Date.now();
        await sim.publish('control/proplet/metrics', propletSample(propletId, systemTime(now - 2_000), 200));
        await sim.publish('control/proplet/metrics', {
          ...propletSample(propletId, new Date(now - 1_000).toISOString(), 300),
          memory_metrics: {
            rss_bytes: 300,
            heap_alloc_bytes: 1,
            heap_sys_bytes: 2,
            heap_inuse_bytes: 3,
            container_usage_bytes: 4,
            container_limit_bytes: 5,
          },
        });
        const page = await metricsOf(`/proplets/${propletId}/metrics`, 2);
        assert.deepEqual(page.metrics[0], {
          proplet_id: propletId,
          namespace: 'default',
          timestamp: new Date(now - 1_000).toISOString(),
          cpu_metrics: { user_seconds: 1.25, system_seconds: 0.5, percent: 12.5 },
          memory_metrics: {
            rss_bytes: 300,
            heap_alloc_bytes: 1,
            heap_sys_bytes: 2,
            heap_inuse_bytes: 3,
            container_usage_bytes: 4,
            container_limit_bytes: 5,
          },
        });
        assert.equal(page.metrics[1].memory_metrics.rss_bytes, 200);
        assert.equal(page.metrics[1].timestamp, new Date(now - 2_000).toISOString());
        assert.equal('container_usage_bytes' in page.metrics[1].memory_metrics, false);

        const unknown = await api('GET', `/proplets/${randomUUID()}/metrics`);
        assert.equal(unknown.status, 404);
      });
    });

    describe('malformed metrics payloads', () => {
      it('are counted and dropped, and the next good sample is still recorded', async () => {
        const taskId = await newTaskId();
        const propletId = await newPropletId();
        const taskTopic = 'control/proplet/task_metrics';
        const propletTopic = 'control/proplet/metrics';
        const [taskBefore, propletBefore] = [await rejectedOn(taskTopic), await rejectedOn(propletTopic)];
        const tooMany = Object.fromEntries(Array.from({ length: 40 }, (_, n) => [`m${n}`, n]));

        await sim.publish(taskTopic, 'not json');
        await sim.publish(taskTopic, { task_id: 'nope', proplet_id: sim.id, metrics: {} });
        await sim.publish(taskTopic, { task_id: taskId, metrics: processMetrics(1) });
        await sim.publish(taskTopic, {
          task_id: taskId,
          proplet_id: sim.id,
          metrics: { cpu_percent: 'high' },
        });
        await sim.publish(taskTopic, { task_id: taskId, proplet_id: sim.id, metrics: tooMany });
        await sim.publish(propletTopic, {
          ...propletSample(propletId, undefined, 1),
          cpu_metrics: undefined,
        });
        await sim.publish(propletTopic, {
          ...propletSample(propletId, undefined, 1),
          memory_metrics: { rss_bytes: '1 GB' },
        });
        await sim.publish(propletTopic, { ...propletSample(propletId, undefined, 1), cpu_metrics: tooMany });

        await waitFor(
          async () =>
            (await rejectedOn(taskTopic)) - taskBefore === 5 &&
            (await rejectedOn(propletTopic)) - propletBefore === 3,
          'eight rejected payloads',
        );
        await sim.publish(taskTopic, { task_id: taskId, proplet_id: sim.id, metrics: processMetrics(7) });
        const page = await metricsOf(`/tasks/${taskId}/metrics`, 1);
        assert.equal(page.metrics[0].metrics.cpu_percent, 7);
        assert.equal((await api('GET', `/proplets/${propletId}/metrics`)).body.total, 0);
      });
    });

    describe('retention', () => {
      it('deletes samples older than the retention and beyond the newest N of their owner', async () => {
        const taskId = await newTaskId();
        const propletId = await newPropletId();
        const now = Date.now();
        // Written past the ingress, so that only the periodic prune can bring them within bounds.
        await harness.manager.resources.metrics.insert({
          task: Array.from({ length: 5 }, (_, n) => ({
            taskId,
            propletId: sim.id,
            metrics: { cpu_percent: n },
            aggregated: null,
            timestamp: new Date(now - n * 100),
          })),
          proplet: [
            ...Array.from({ length: 2 }, (_, n) => ({
              propletId,
              namespace: 'default',
              cpuMetrics: { percent: n },
              memoryMetrics: { rss_bytes: n },
              timestamp: new Date(now - n * 100),
            })),
            {
              propletId,
              namespace: 'default',
              cpuMetrics: { percent: 99 },
              memoryMetrics: { rss_bytes: 99 },
              timestamp: new Date(now - 3_600_000),
            },
          ],
        });

        const tasks = await metricsOf(`/tasks/${taskId}/metrics`, MAX_SAMPLES);
        assert.deepEqual(
          tasks.metrics.map((sample: any) => sample.metrics.cpu_percent),
          [0, 1, 2],
        );
        const proplets = await metricsOf(`/proplets/${propletId}/metrics`, 2);
        assert.deepEqual(
          proplets.metrics.map((sample: any) => sample.cpu_metrics.percent),
          [0, 1],
        );
      });

      it('keeps the newest N of the samples a proplet publishes beyond N', async () => {
        const taskId = await newTaskId();
        const now = Date.now();
        for (let n = 0; n < 6; n++)
          await sim.publish('control/proplet/task_metrics', {
            task_id: taskId,
            proplet_id: sim.id,
            metrics: { cpu_percent: n },
            timestamp: new Date(now - n * 100).toISOString(),
          });
        const page = await metricsOf(`/tasks/${taskId}/metrics`, MAX_SAMPLES);
        assert.deepEqual(
          page.metrics.map((sample: any) => sample.metrics.cpu_percent),
          [0, 1, 2],
        );
      });
    });
  });
}
