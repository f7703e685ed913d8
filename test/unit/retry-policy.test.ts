import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mayRetry, retryDelayMs } from '../../src/domain/retry-policy.ts';

const task = { retries: 0, maxRetries: null, retryOnError: false, broadcast: false };

describe('retry policy', () => {
  it('retries lost proplets and timeouts while retries remain, the default applying when the task sets none', () => {
    assert.equal(mayRetry(task, 'proplet_lost', 3), true);
    assert.equal(mayRetry(task, 'timed_out', 3), true);
    assert.equal(mayRetry({ ...task, retries: 3 }, 'timed_out', 3), false);
    assert.equal(mayRetry({ ...task, retries: 3, maxRetries: 5 }, 'timed_out', 3), true);
    assert.equal(mayRetry({ ...task, maxRetries: 0 }, 'proplet_lost', 3), false);
    assert.equal(mayRetry(task, 'proplet_lost', 0), false);
  });

  it('keeps a Wasm error final unless the task asks for retries on error', () => {
    assert.equal(mayRetry(task, 'failed', 3), false);
    assert.equal(mayRetry({ ...task, retryOnError: true }, 'failed', 3), true);
    assert.equal(mayRetry({ ...task, retryOnError: true, retries: 3 }, 'failed', 3), false);
  });

  it('never runs a broadcast task again as a whole', () => {
    assert.equal(mayRetry({ ...task, broadcast: true }, 'timed_out', 3), false);
  });

  it('doubles the wait from the base up to the maximum, spread over its upper half', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 10].map((retry) => retryDelayMs(retry, 1_000, 10_000, 1)),
      [1_000, 2_000, 4_000, 8_000, 10_000, 10_000],
    );
    assert.equal(retryDelayMs(1, 1_000, 10_000, 0), 500);
    assert.equal(retryDelayMs(3, 1_000, 10_000, 0.5), 3_000);
    // Out-of-range jitter is clamped, and retry 0 counts as the first.
    assert.equal(retryDelayMs(0, 1_000, 10_000, 7), 1_000);
  });
});
