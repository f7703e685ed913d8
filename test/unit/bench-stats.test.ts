import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { distribution, percentile, ratePerSecond } from '../../bench/lib/stats.ts';

describe('bench statistics', () => {
  it('takes the nearest-rank percentile: the smallest value at least p % of them do not exceed', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 99), 99);
    assert.equal(percentile(hundred, 100), 100);
    assert.equal(percentile(hundred, 0), 1);
    // With few values the p99 is the largest, never an index past the end.
    assert.equal(percentile([1, 2, 3], 99), 3);
    assert.equal(percentile([7], 50), 7);
    assert.equal(percentile([1, 2, 3, 4], 50), 2);
  });

  it('gives NaN for no values, so a scenario that measured nothing cannot look fast', () => {
    assert.ok(Number.isNaN(percentile([], 50)));
    const empty = distribution([]);
    assert.equal(empty.count, 0);
    assert.ok(Number.isNaN(empty.p99));
  });

  it('sorts before it ranks, and rounds to hundredths', () => {
    const d = distribution([5.555, 1, 3, 2, 4]);
    assert.deepEqual(d, { count: 5, p50: 3, p90: 5.56, p99: 5.56, max: 5.56, mean: 3.11 });
  });

  it('reports rates per second over a span in milliseconds, 0 for an empty span', () => {
    assert.equal(ratePerSecond(500, 250), 2000);
    assert.equal(ratePerSecond(10, 0), 0);
  });
});
