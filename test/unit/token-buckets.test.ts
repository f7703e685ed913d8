import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBuckets } from '../../src/http/rate-limit/token-buckets.ts';

/** The rate limit's buckets on a clock the test moves by hand. */
function buckets(limit: number, periodMs: number, maxBuckets?: number) {
  let now = 1_000;
  const limiter = new TokenBuckets({ limit, periodMs, maxBuckets, now: () => now });
  return {
    limiter,
    advance: (ms: number) => {
      now += ms;
    },
    allowed: (key: string, times = 1) =>
      Array.from({ length: times }, () => limiter.take(key)).filter((take) => take.allowed).length,
  };
}

describe('token buckets', () => {
  it('allows a burst of the limit, then refuses with the wait for the next token', () => {
    const { limiter, allowed } = buckets(5, 1_000);
    assert.equal(allowed('ci', 5), 5);
    const refused = limiter.take('ci');
    assert.equal(refused.allowed, false);
    // 5 per second: one token every 200 ms.
    assert.equal((refused as { retryAfterMs: number }).retryAfterMs, 200);
  });

  it('refills continuously at the limit per period, never beyond the limit', () => {
    const { limiter, advance, allowed } = buckets(10, 60_000);
    assert.equal(allowed('ci', 10), 10);
    advance(6_000);
    assert.equal(allowed('ci', 3), 1);
    advance(30_000);
    assert.equal(allowed('ci', 6), 5);
    const wait = limiter.take('ci');
    assert.equal(wait.allowed, false);
    assert.equal((wait as { retryAfterMs: number }).retryAfterMs, 6_000);
    advance(10 * 60_000);
    assert.equal(allowed('ci', 20), 10);
  });

  it('counts each client on its own', () => {
    const { allowed } = buckets(2, 1_000);
    assert.equal(allowed('a', 3), 2);
    assert.equal(allowed('b', 3), 2);
  });

  it('forgets clients idle for a period, so memory follows the clients of the last period', () => {
    const { limiter, advance, allowed } = buckets(3, 1_000);
    for (let client = 0; client < 50; client++) allowed(`client-${client}`);
    assert.equal(limiter.size, 50);
    advance(1_000);
    allowed('busy', 3);
    assert.equal(limiter.size, 1);
    // Only full buckets go: one emptied just before a sweep is kept, so the sweep grants it nothing.
    advance(900);
    assert.equal(allowed('late', 3), 3);
    advance(100);
    allowed('other');
    assert.equal(limiter.size, 2);
    assert.equal(allowed('late'), 0);
  });

  it('keeps at most maxBuckets clients, forgetting the least recently seen', () => {
    const { limiter, allowed } = buckets(1, 60_000, 3);
    allowed('a');
    allowed('b');
    allowed('c');
    allowed('a');
    allowed('d');
    assert.equal(limiter.size, 3);
    // b was seen longest ago: forgotten, it starts again with a full bucket; a is still counted.
    assert.equal(allowed('b'), 1);
    assert.equal(allowed('a'), 0);
  });
});
