import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registry } from '../../src/observability/metrics.ts';
import { RejectedPayloads, shownId } from '../../src/observability/rejected-payloads.ts';
import { captureLogs } from '../support/log-capture.ts';
import { parseExposition, valueOf } from '../support/prometheus-text.ts';

const counted = async (topic: string, reason: string) =>
  valueOf(parseExposition(await registry.metrics()), 'propeller_mqtt_rejected_payloads_total', {
    topic,
    reason,
  });

describe('RejectedPayloads', () => {
  it('counts every dropped message but logs each topic and reason once per interval', async () => {
    const { lines, logger } = captureLogs('info');
    let now = 1_000_000;
    const rejected = new RejectedPayloads(logger, 10_000, () => now);
    const topic = 'test/flood';
    const before = await counted(topic, 'not_json');
    for (let i = 0; i < 1_000; i++) rejected.record(topic, 'not_json', { bytes: i });
    rejected.record(topic, 'schema', { field: 'task_id' });
    assert.equal((await counted(topic, 'not_json')) - before, 1_000);
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.reason, 'not_json');
    assert.equal(lines[0]!.bytes, 0);
    assert.equal(lines[1]!.reason, 'schema');

    // After the interval: one more line, saying how many went unlogged.
    now += 10_000;
    rejected.record(topic, 'not_json', {});
    assert.equal(lines.length, 3);
    assert.equal(lines[2]!.droppedSilentlySince, 999);
  });

  it('logs what a broken or hostile publisher sends at warn, what follows a re-dispatch or a deletion at info', () => {
    const { lines, logger } = captureLogs('info');
    const rejected = new RejectedPayloads(logger);
    rejected.record('test/levels', 'bad_id');
    rejected.record('test/levels', 'unknown_proplet');
    rejected.record('test/levels', 'not_holder');
    rejected.record('test/levels', 'unknown_task');
    // pino's levels: 40 warn, 30 info.
    assert.deepEqual(
      lines.map((line) => line.level),
      [40, 40, 30, 30],
    );
  });

  it('cuts ids for the log', () => {
    assert.equal(shownId('p-1'), 'p-1');
    assert.equal(shownId('x'.repeat(1_000))?.length, 65);
    assert.equal(shownId(7), undefined);
  });
});
