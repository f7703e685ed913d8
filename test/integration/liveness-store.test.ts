import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { ALIVE_HISTORY_LENGTH, LivenessStore } from '../../src/redis/liveness-store.ts';
import { deleteKeysWithPrefix } from '../support/redis-cleanup.ts';
import { TEST_REDIS_URL, uniqueSuffix } from '../support/test-database.ts';

const TIMEOUT = 1_000;
const PREFIX = `{liveness-test-${uniqueSuffix()}}`;
let redis: Redis;

before(() => {
  redis = new Redis(TEST_REDIS_URL);
});

after(async () => {
  await redis.quit();
  await deleteKeysWithPrefix(PREFIX);
});

/**
 * A store under a prefix of its own, so tests never see each other's proplets. Proplets named here have
 * their Postgres rows confirmed, as the liveness service does after writing them.
 */
async function freshStore(
  registered: string[] = ['a', 'b', 'c', 'ab', 'quiet', 'busy'],
): Promise<LivenessStore> {
  const store = new LivenessStore(redis, `${PREFIX}:${uniqueSuffix()}`, TIMEOUT);
  await store.markRegistered(registered);
  return store;
}

describe('liveness store (Redis scripts)', () => {
  it('reports a transition only when a proplet comes alive', async () => {
    const store = await freshStore();
    const now = Date.now();
    assert.equal(await store.recordHeartbeat('a', now, now), 'came-alive');
    assert.equal(await store.recordHeartbeat('a', now + 100, now + 100), 'still-alive');
    assert.equal(await store.isAlive('a', now + 200), true);
    assert.equal(await store.isAlive('a', now + 100 + TIMEOUT), false);
  });

  it('treats a last will as offline at once, and ignores heartbeats older than it', async () => {
    const store = await freshStore();
    const now = Date.now();
    await store.recordHeartbeat('a', now, now);
    assert.equal(await store.recordOffline('a', now + 10), true);
    assert.equal(await store.isAlive('a', now + 20), false);
    assert.equal(await store.recordHeartbeat('a', now + 5, now + 30), 'ignored');
    assert.equal(await store.isAlive('a', now + 30), false);
    assert.equal(await store.recordHeartbeat('a', now + 50, now + 50), 'came-alive');
    assert.equal(await store.isAlive('a', now + 60), true);
  });

  it('does not let a late last will kill a proplet that beat after it', async () => {
    const store = await freshStore();
    const now = Date.now();
    await store.recordHeartbeat('a', now + 100, now + 100);
    assert.equal(await store.recordOffline('a', now), false);
    assert.equal(await store.isAlive('a', now + 150), true);
  });

  it('does not revive a proplet from a heartbeat that is already too old', async () => {
    const store = await freshStore();
    const now = Date.now();
    assert.equal(await store.recordHeartbeat('a', now - TIMEOUT - 1, now), 'still-alive');
    assert.equal(await store.isAlive('a', now), false);
    assert.deepEqual(await store.aliveIds(now), []);
  });

  it('sweeps silent proplets once and reports their last heartbeat', async () => {
    const store = await freshStore();
    const now = Date.now();
    await store.recordHeartbeat('quiet', now, now);
    await store.recordHeartbeat('busy', now + 900, now + 900);
    const dead = await store.sweepDead(now + TIMEOUT + 1);
    assert.deepEqual(dead, [{ id: 'quiet', lastBeatMs: now }]);
    assert.deepEqual(await store.sweepDead(now + TIMEOUT + 2), []);
    assert.deepEqual(await store.aliveIds(now + TIMEOUT + 2), ['busy']);
  });

  it('keeps the last ten heartbeat times, oldest first', async () => {
    const store = await freshStore();
    const start = Date.now();
    for (let i = 0; i < 15; i++) await store.recordHeartbeat('a', start + i, start + i);
    const history = await store.history('a');
    assert.equal(history.length, ALIVE_HISTORY_LENGTH);
    assert.deepEqual(
      history,
      Array.from({ length: 10 }, (_, i) => start + 5 + i),
    );
    assert.deepEqual(await store.lastBeats(['a', 'unknown']), new Map([['a', start + 14]]));
  });

  it('rotates fairly over alive proplets in id order: N picks reach each of N once', async () => {
    const store = await freshStore();
    const now = Date.now();
    for (const id of ['c', 'a', 'b']) await store.recordHeartbeat(id, now, now);
    const picks = [];
    for (let i = 0; i < 6; i++) picks.push(await store.pickNext(now));
    assert.deepEqual(picks, ['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('skips dead proplets and keeps its place when proplets join or leave', async () => {
    const store = await freshStore();
    const now = Date.now();
    for (const id of ['a', 'b', 'c']) await store.recordHeartbeat(id, now, now);
    assert.equal(await store.pickNext(now), 'a');
    await store.recordOffline('b', now + 1);
    assert.equal(await store.pickNext(now + 2), 'c');
    await store.recordHeartbeat('ab', now + 3, now + 3);
    assert.equal(await store.pickNext(now + 4), 'a');
    assert.equal(await store.pickNext(now + 5), 'ab');
    // Everyone but 'c' goes silent: the rotation skips the stale entries without a sweep.
    await store.recordHeartbeat('c', now + 900, now + 900);
    assert.equal(await store.pickNext(now + TIMEOUT + 10), 'c');
    assert.equal(await store.pickNext(now + TIMEOUT + 10), 'c');
  });

  it('asks for registration until the proplet row is confirmed, and gives no work before', async () => {
    const store = await freshStore([]);
    const now = Date.now();
    assert.equal(await store.recordHeartbeat('new', now, now), 'came-alive');
    assert.equal(await store.recordHeartbeat('new', now + 1, now + 1), 'unregistered');
    assert.equal(await store.pickNext(now + 2), undefined);
    assert.equal(await store.isAlive('new', now + 2), false);
    await store.markRegistered(['new']);
    assert.equal(await store.recordHeartbeat('new', now + 3, now + 3), 'still-alive');
    assert.equal(await store.pickNext(now + 4), 'new');
    assert.equal(await store.isAlive('new', now + 4), true);
    await store.unregister('new');
    assert.equal(await store.recordHeartbeat('new', now + 5, now + 5), 'unregistered');
  });

  it('gives nothing when no proplet is alive', async () => {
    const store = await freshStore();
    assert.equal(await store.pickNext(), undefined);
  });

  it('forgets a deleted proplet', async () => {
    const store = await freshStore();
    const now = Date.now();
    await store.recordHeartbeat('a', now, now);
    await store.forget('a');
    assert.equal(await store.isAlive('a', now), false);
    assert.deepEqual(await store.history('a'), []);
    assert.equal(await store.recordHeartbeat('a', now + 1, now + 1), 'came-alive');
  });
});
