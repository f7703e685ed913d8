import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { HeartbeatBatcher, type Beat } from '../../src/mqtt/heartbeat-batcher.ts';
import { createLogger } from '../../src/observability/logger.ts';

const logger = createLogger('silent');
const beat = (n: number): Beat => ({ propletId: `p${n}`, receivedAt: n });

function recorder(fail = 0) {
  const batches: Beat[][] = [];
  let failures = fail;
  return {
    batches,
    flush: async (beats: Beat[]) => {
      await Promise.resolve();
      if (failures-- > 0) throw new Error('redis is down');
      batches.push(beats);
    },
  };
}

describe('HeartbeatBatcher', () => {
  it('sends a full batch at once and the rest after the delay', async () => {
    const sink = recorder();
    const batcher = new HeartbeatBatcher({ ...sink, maxBatch: 3, maxDelayMs: 40, maxBuffered: 100, logger });
    for (let n = 0; n < 4; n++) batcher.add(beat(n));
    await sleep(10);
    assert.deepEqual(sink.batches, [[beat(0), beat(1), beat(2)]]);
    await sleep(60);
    assert.deepEqual(sink.batches, [[beat(0), beat(1), beat(2)], [beat(3)]]);
  });

  it('keeps a batch that could not be sent and sends it again, in order', async () => {
    const sink = recorder(2);
    const batcher = new HeartbeatBatcher({ ...sink, maxBatch: 10, maxDelayMs: 5, maxBuffered: 100, logger });
    batcher.add(beat(1));
    batcher.add(beat(2));
    await sleep(150);
    batcher.add(beat(3));
    await sleep(50);
    assert.deepEqual(sink.batches.flat(), [beat(1), beat(2), beat(3)]);
  });

  it('drops the oldest heartbeats beyond its buffer while it cannot send', async () => {
    const sink = recorder(1);
    const batcher = new HeartbeatBatcher({ ...sink, maxBatch: 100, maxDelayMs: 5, maxBuffered: 3, logger });
    for (let n = 0; n < 5; n++) batcher.add(beat(n));
    await sleep(100);
    assert.deepEqual(sink.batches.flat(), [beat(2), beat(3), beat(4)]);
  });

  it('sends what is left when drained, without waiting for the delay', async () => {
    const sink = recorder();
    const batcher = new HeartbeatBatcher({
      ...sink,
      maxBatch: 100,
      maxDelayMs: 10_000,
      maxBuffered: 100,
      logger,
    });
    batcher.add(beat(1));
    await batcher.drain();
    assert.deepEqual(sink.batches, [[beat(1)]]);
  });

  it('gives up on a drain that cannot send, instead of hanging the shutdown', async () => {
    const sink = recorder(Infinity);
    const batcher = new HeartbeatBatcher({
      ...sink,
      maxBatch: 100,
      maxDelayMs: 10_000,
      maxBuffered: 100,
      logger,
    });
    batcher.add(beat(1));
    await batcher.drain();
    assert.deepEqual(sink.batches, []);
  });
});
