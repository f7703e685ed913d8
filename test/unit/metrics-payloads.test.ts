import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keepNewestPerOwner } from '../../src/domain/metrics-retention.ts';
import { wasmUploadProblem } from '../../src/http/wasm-upload.ts';
import {
  MAX_METRIC_KEYS,
  propletMetricsPayload,
  taskMetricsPayload,
} from '../../src/mqtt/inbound-payloads.ts';
import { parseMetricTimestamp } from '../../src/mqtt/metric-timestamp.ts';
import { pruneIntervalMs } from '../../workers/liveness.ts';

const TASK = '5f0ac6a4-51c3-4b0c-9a3e-6d5a1c1f7b2e';
const wire = (text: string): unknown => JSON.parse(text);

describe('parseMetricTimestamp', () => {
  it('reads a Rust SystemTime object, to the millisecond', () => {
    assert.equal(
      parseMetricTimestamp({ secs_since_epoch: 1_700_000_000, nanos_since_epoch: 123_456_789 }),
      1_700_000_000_123,
    );
    assert.equal(parseMetricTimestamp({ secs_since_epoch: 0, nanos_since_epoch: 0 }), 0);
  });

  it('reads RFC 3339 strings, in UTC or with an offset, with any fraction', () => {
    assert.equal(parseMetricTimestamp('2024-05-01T10:00:00Z'), Date.UTC(2024, 4, 1, 10));
    assert.equal(
      parseMetricTimestamp('2024-05-01T12:00:00.123456789+02:00'),
      Date.UTC(2024, 4, 1, 10, 0, 0, 123),
    );
  });

  it('gives undefined for what is absent or unreadable, so the receive time stands in', () => {
    for (const value of [
      undefined,
      null,
      '',
      'yesterday',
      '2024-05-01 10:00:00',
      '2024-05-01',
      1_700_000_000,
      {},
      { secs_since_epoch: 1_700_000_000 },
      { secs_since_epoch: -1, nanos_since_epoch: 0 },
      { secs_since_epoch: 1.5, nanos_since_epoch: 0 },
      { secs_since_epoch: 1, nanos_since_epoch: 1_000_000_000 },
      { secs_since_epoch: 1e15, nanos_since_epoch: 0 },
      { secs_since_epoch: '1700000000', nanos_since_epoch: 0 },
    ]) {
      assert.equal(parseMetricTimestamp(value), undefined, JSON.stringify(value));
    }
  });
});

describe('taskMetricsPayload', () => {
  const upstream = `{"task_id":"${TASK}","proplet_id":"p-1","metrics":{"cpu_percent":12.5,"memory_bytes":1048576,"memory_percent":0.4,"disk_read_bytes":0,"disk_write_bytes":4096,"uptime_seconds":3,"thread_count":2,"file_descriptor_count":null},"aggregated":{"avg_cpu_usage":10.0,"max_cpu_usage":12.5,"avg_memory_usage":1000.0,"max_memory_usage":1048576,"total_disk_read":0,"total_disk_write":4096,"sample_count":2},"timestamp":{"secs_since_epoch":1700000000,"nanos_since_epoch":5000000}}`;

  it('reads what the upstream proplet publishes, leaving out null metrics', () => {
    const payload = taskMetricsPayload.parse(wire(upstream));
    assert.equal(payload.task_id, TASK);
    assert.equal(payload.proplet_id, 'p-1');
    assert.equal(payload.metrics.cpu_percent, 12.5);
    assert.equal('file_descriptor_count' in payload.metrics, false);
    assert.equal(payload.aggregated?.sample_count, 2);
    assert.equal(payload.timestamp, 1_700_000_000_005);
  });

  it('accepts a sample without aggregates or timestamp', () => {
    const payload = taskMetricsPayload.parse({
      task_id: TASK,
      proplet_id: 'p',
      metrics: {},
      aggregated: null,
    });
    assert.equal(payload.aggregated, undefined);
    assert.equal(payload.timestamp, undefined);
    assert.equal(
      taskMetricsPayload.parse({ task_id: TASK, proplet_id: 'p', metrics: {} }).timestamp,
      undefined,
    );
  });

  it('keeps a sample whose timestamp is unreadable, without its time', () => {
    const payload = taskMetricsPayload.parse({
      task_id: TASK,
      proplet_id: 'p',
      metrics: {},
      timestamp: 'now',
    });
    assert.equal(payload.timestamp, undefined);
  });

  it('refuses samples without a UUID task id, a proplet id, or numeric metrics', () => {
    const good = { task_id: TASK, proplet_id: 'p', metrics: { cpu_percent: 1 } };
    for (const bad of [
      { ...good, task_id: 'task-1' },
      { ...good, task_id: 42 },
      { ...good, proplet_id: undefined },
      { ...good, proplet_id: '' },
      { ...good, proplet_id: 'p'.repeat(256) },
      { ...good, metrics: undefined },
      { ...good, metrics: [1, 2] },
      { ...good, metrics: { cpu_percent: '12.5' } },
      { ...good, metrics: { cpu_percent: { nested: 1 } } },
      { ...good, metrics: { ['k'.repeat(65)]: 1 } },
      { ...good, aggregated: { max_cpu_usage: true } },
    ]) {
      assert.equal(taskMetricsPayload.safeParse(bad).success, false, JSON.stringify(bad).slice(0, 120));
    }
  });

  it(`refuses a metrics object of more than ${MAX_METRIC_KEYS} keys`, () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, i]));
    const sample = (metrics: unknown) => ({ task_id: TASK, proplet_id: 'p', metrics });
    assert.equal(taskMetricsPayload.safeParse(sample(keys(MAX_METRIC_KEYS))).success, true);
    assert.equal(taskMetricsPayload.safeParse(sample(keys(MAX_METRIC_KEYS + 1))).success, false);
    assert.equal(taskMetricsPayload.safeParse(sample(keys(100_000))).success, false);
  });
});

describe('propletMetricsPayload', () => {
  const upstream =
    '{"proplet_id":"p-1","namespace":"default","timestamp":{"secs_since_epoch":1700000000,"nanos_since_epoch":0},"cpu_metrics":{"user_seconds":1.5,"system_seconds":0.25,"percent":3.2},"memory_metrics":{"rss_bytes":10485760,"heap_alloc_bytes":1024,"heap_sys_bytes":2048,"heap_inuse_bytes":1024,"container_usage_bytes":null,"container_limit_bytes":536870912}}';

  it('reads what the upstream proplet publishes', () => {
    const payload = propletMetricsPayload.parse(wire(upstream));
    assert.equal(payload.proplet_id, 'p-1');
    assert.equal(payload.namespace, 'default');
    assert.equal(payload.timestamp, 1_700_000_000_000);
    assert.deepEqual(payload.cpu_metrics, { user_seconds: 1.5, system_seconds: 0.25, percent: 3.2 });
    assert.equal(payload.memory_metrics.rss_bytes, 10485760);
    assert.equal(payload.memory_metrics.container_usage_bytes, undefined);
    assert.equal(payload.memory_metrics.container_limit_bytes, 536870912);
  });

  it('reads missing figures as 0, a missing namespace as empty, and drops unknown keys', () => {
    const payload = propletMetricsPayload.parse({
      proplet_id: 'p',
      cpu_metrics: { percent: 1, extra: 'ignored' },
      memory_metrics: {},
    });
    assert.equal(payload.namespace, '');
    assert.deepEqual(payload.cpu_metrics, { user_seconds: 0, system_seconds: 0, percent: 1 });
    assert.equal(payload.memory_metrics.heap_sys_bytes, 0);
  });

  it('refuses samples without their objects, with non-numeric figures, or with too many keys', () => {
    const good = wire(upstream) as Record<string, unknown>;
    const tooMany = Object.fromEntries(Array.from({ length: MAX_METRIC_KEYS + 1 }, (_, i) => [`k${i}`, i]));
    for (const bad of [
      { ...good, proplet_id: undefined },
      { ...good, cpu_metrics: undefined },
      { ...good, memory_metrics: 'lots' },
      { ...good, cpu_metrics: { percent: '3.2' } },
      { ...good, memory_metrics: { rss_bytes: Number.MAX_VALUE * 10 } },
      { ...good, cpu_metrics: tooMany },
      { ...good, namespace: 'n'.repeat(256) },
    ]) {
      assert.equal(propletMetricsPayload.safeParse(bad).success, false, JSON.stringify(bad).slice(0, 120));
    }
  });
});

describe('keepNewestPerOwner', () => {
  const sample = (owner: string, at: number) => ({ owner, at });

  it('keeps the newest N of each owner, in their original order', () => {
    const samples = [sample('a', 1), sample('b', 5), sample('a', 3), sample('a', 2), sample('b', 4)];
    assert.deepEqual(
      keepNewestPerOwner(
        samples,
        (s) => s.owner,
        (s) => s.at,
        2,
      ),
      [sample('b', 5), sample('a', 3), sample('a', 2), sample('b', 4)],
    );
    assert.deepEqual(
      keepNewestPerOwner(
        samples,
        (s) => s.owner,
        (s) => s.at,
        1,
      ),
      [sample('b', 5), sample('a', 3)],
    );
  });

  it('prefers the later arrival between samples of the same time', () => {
    const first = { owner: 'a', at: 1, n: 1 };
    const second = { owner: 'a', at: 1, n: 2 };
    assert.deepEqual(
      keepNewestPerOwner(
        [first, second],
        (s) => s.owner,
        (s) => s.at,
        1,
      ),
      [second],
    );
  });
});

describe('wasmUploadProblem', () => {
  const wasm = Buffer.from('0061736d01000000', 'hex');

  it('accepts a .wasm file that starts with \\0asm', () => {
    assert.equal(wasmUploadProblem('add.wasm', wasm), undefined);
  });

  it('names what is wrong', () => {
    assert.match(wasmUploadProblem('add.wat', wasm) ?? '', /must end in \.wasm/);
    assert.match(wasmUploadProblem('add.WASM.txt', wasm) ?? '', /must end in \.wasm/);
    assert.match(wasmUploadProblem('add.wasm', Buffer.from('(module)')) ?? '', /not a WebAssembly module/);
    assert.match(wasmUploadProblem('add.wasm', Buffer.alloc(0)) ?? '', /not a WebAssembly module/);
  });
});

describe('pruneIntervalMs', () => {
  it('is a tenth of the retention, from 1 to 60 seconds', () => {
    assert.equal(pruneIntervalMs(24 * 3_600_000), 60_000);
    assert.equal(pruneIntervalMs(100_000), 10_000);
    assert.equal(pruneIntervalMs(2_000), 1_000);
  });
});
