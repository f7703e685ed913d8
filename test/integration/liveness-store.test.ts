import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  ALIVE_HISTORY_LENGTH,
  type HeartbeatOutcome,
  type LivenessStore,
} from '../../src/coordination/liveness-store.ts';
import { PostgresLivenessStore } from '../../src/db/postgres-liveness-store.ts';
import { coordinationCursors, propletLiveness } from '../../src/db/schema.ts';
import { RedisLivenessStore } from '../../src/redis/liveness-store.ts';
import {
  available,
  lifecycleOf,
  postgresStoreFixture,
  redisStoreFixture,
} from '../support/store-fixtures.ts';

const TIMEOUT = 1_000;
const REGISTERED = ['a', 'b', 'c', 'ab', 'quiet', 'busy'];

/**
 * One implementation under test. `open` gives `count` stores sharing one state, as the liveness workers and
 * schedulers of several processes do; every call starts from an empty state.
 */
interface Backend {
  name: string;
  setUp(): Promise<void>;
  reset(): Promise<void>;
  tearDown(): Promise<void>;
  open(count: number): LivenessStore[];
}

function redisBackend(): Backend {
  const fixture = redisStoreFixture('liveness');
  return {
    name: 'Redis scripts',
    ...lifecycleOf(fixture),
    open: (count) => {
      const scope = fixture.scope();
      return Array.from({ length: count }, () => new RedisLivenessStore(fixture.redis, scope, TIMEOUT));
    },
  };
}

function postgresBackend(): Backend {
  const fixture = postgresStoreFixture([propletLiveness, coordinationCursors]);
  return {
    name: 'Postgres',
    ...lifecycleOf(fixture),
    open: (count) => Array.from({ length: count }, () => new PostgresLivenessStore(fixture.db, TIMEOUT)),
  };
}

for (const backend of available({ redis: redisBackend, postgres: postgresBackend })) {
  describe(`liveness store (${backend.name})`, () => {
    before(() => backend.setUp());
    after(() => backend.tearDown());
    beforeEach(() => backend.reset());

    /** Proplets named here have their Postgres rows confirmed, as the liveness service does after writing them. */
    async function freshStore(registered: string[] = REGISTERED): Promise<LivenessStore> {
      const [store] = backend.open(1);
      await store!.markRegistered(registered);
      return store!;
    }

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

    it('keeps the last will of a proplet it never heard, and reports it was not alive', async () => {
      const store = await freshStore();
      const now = Date.now();
      assert.equal(await store.recordOffline('a', now), false);
      assert.deepEqual(await store.lastBeats(['a']), new Map());
      assert.equal(await store.recordHeartbeat('a', now - 1, now + 1), 'ignored');
      assert.equal(await store.recordHeartbeat('a', now + 2, now + 2), 'came-alive');
      assert.equal(await store.recordOffline('a', now + 3), true);
      assert.equal(await store.recordOffline('a', now + 4), false);
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

    it('reports a swept proplet as coming alive again on its next heartbeat', async () => {
      const store = await freshStore();
      const now = Date.now();
      await store.recordHeartbeat('quiet', now, now);
      assert.deepEqual(await store.sweepDead(now + TIMEOUT + 1), [{ id: 'quiet', lastBeatMs: now }]);
      assert.equal(await store.recordHeartbeat('quiet', now + TIMEOUT + 2, now + TIMEOUT + 2), 'came-alive');
      assert.deepEqual(await store.aliveIds(now + TIMEOUT + 3), ['quiet']);
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

    it('orders ids by their bytes, whatever the collation', async () => {
      const ids = ['B', 'a', 'Z', '_'];
      const store = await freshStore(ids);
      const now = Date.now();
      for (const id of ids) await store.recordHeartbeat(id, now, now);
      assert.deepEqual(await store.aliveIds(now), ['B', 'Z', '_', 'a']);
      const picks = [];
      for (let i = 0; i < 4; i++) picks.push(await store.pickNext(now));
      assert.deepEqual(picks, ['B', 'Z', '_', 'a']);
    });

    it('asks for registration until the proplet row is confirmed, and gives no work before', async () => {
      const store = await freshStore([]);
      const now = Date.now();
      assert.equal(await store.recordHeartbeat('new', now, now), 'came-alive');
      assert.equal(await store.recordHeartbeat('new', now + 1, now + 1), 'unregistered');
      assert.equal(await store.pickNext(now + 2), undefined);
      assert.equal(await store.isAlive('new', now + 2), false);
      assert.deepEqual(await store.aliveIds(now + 2), ['new']);
      await store.markRegistered(['new']);
      assert.equal(await store.recordHeartbeat('new', now + 3, now + 3), 'still-alive');
      assert.equal(await store.pickNext(now + 4), 'new');
      assert.equal(await store.isAlive('new', now + 4), true);
      await store.unregister('new');
      assert.equal(await store.isAlive('new', now + 5), false);
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
      assert.deepEqual(await store.lastBeats(['a']), new Map());
      assert.equal(await store.recordHeartbeat('a', now + 1, now + 1), 'came-alive');
    });

    it('answers a batch, repeated proplets included, as if its heartbeats came one by one', async () => {
      const now = Date.now();
      const at = now + 20;
      const beats = [
        { propletId: 'a', receivedAt: now + 5 },
        { propletId: 'b', receivedAt: now + 1 },
        { propletId: 'a', receivedAt: now + 8 },
        { propletId: 'a', receivedAt: now + 15 },
        { propletId: 'b', receivedAt: now + 2 },
        { propletId: 'a', receivedAt: now + 3 },
        { propletId: 'x', receivedAt: now + 4 },
        { propletId: 'x', receivedAt: now + 6 },
        { propletId: 'c', receivedAt: now - TIMEOUT - 5 },
        { propletId: 'c', receivedAt: now + 19 },
      ];
      const expected: HeartbeatOutcome[] = [
        'ignored', // older than a's last will
        'came-alive',
        'ignored',
        'came-alive', // newer than the last will, which it clears
        'still-alive',
        'still-alive', // older than the previous beat, but accepted now that the will is gone
        'came-alive',
        'unregistered',
        'still-alive', // too old to revive c
        'came-alive',
      ];
      const assertFinalState = async (store: LivenessStore) => {
        assert.deepEqual(await store.aliveIds(at), ['a', 'b', 'c', 'x']);
        assert.deepEqual(await store.history('a'), [now, now + 3, now + 15]);
        assert.deepEqual(await store.history('c'), [now - TIMEOUT - 5, now + 19]);
        assert.deepEqual(
          await store.lastBeats(['a', 'b', 'c', 'x']),
          new Map([
            ['a', now + 15],
            ['b', now + 2],
            ['c', now + 19],
            ['x', now + 6],
          ]),
        );
        assert.deepEqual(await store.sweepDead(now + 15 + TIMEOUT + 1), [
          { id: 'b', lastBeatMs: now + 2 },
          { id: 'x', lastBeatMs: now + 6 },
          { id: 'a', lastBeatMs: now + 15 },
        ]);
      };
      const prepare = async () => {
        await backend.reset();
        const store = await freshStore();
        await store.recordHeartbeat('a', now, now);
        await store.recordOffline('a', now + 10);
        return store;
      };

      const batched = await prepare();
      assert.deepEqual(await batched.recordHeartbeats(beats, at), expected);
      await assertFinalState(batched);

      const sequential = await prepare();
      const oneByOne = [];
      for (const beat of beats) {
        oneByOne.push(await sequential.recordHeartbeat(beat.propletId, beat.receivedAt, at));
      }
      assert.deepEqual(oneByOne, expected);
      await assertFinalState(sequential);
    });

    it('records a batch of 500 proplets at once', async () => {
      const store = await freshStore();
      const now = Date.now();
      const ids = Array.from({ length: 500 }, (_, i) => `p${String(i).padStart(3, '0')}`);
      const outcomes = await store.recordHeartbeats(
        ids.map((propletId) => ({ propletId, receivedAt: now })),
        now,
      );
      assert.deepEqual(outcomes, Array<HeartbeatOutcome>(500).fill('came-alive'));
      assert.deepEqual(await store.aliveIds(now), ids);
      assert.deepEqual(await store.recordHeartbeats([], now), []);
    });

    it('reports a proplet as coming alive once, however many workers record it at once', async () => {
      const stores = backend.open(8);
      const now = Date.now();
      // Unknown to the store; known but never alive; alive until a last will older than the beats.
      await stores[0]!.markRegistered(['known']);
      await stores[0]!.recordHeartbeat('willed', now - 10, now - 10);
      await stores[0]!.recordOffline('willed', now - 5);
      for (const id of ['unknown', 'known', 'willed']) {
        const outcomes = await Promise.all(
          stores.map((store, i) =>
            store.recordHeartbeats(
              [
                { propletId: 'other', receivedAt: now + i },
                { propletId: id, receivedAt: now + i },
              ],
              now + 10,
            ),
          ),
        );
        const cameAlive = outcomes.map((pair) => pair[1]).filter((outcome) => outcome === 'came-alive');
        assert.equal(cameAlive.length, 1, `${id}: ${JSON.stringify(outcomes)}`);
        const history = await stores[0]!.history(id);
        assert.deepEqual(
          history.slice(-8),
          Array.from({ length: 8 }, (_, i) => now + i),
        );
      }
    });

    it('never hands out one proplet twice in a row to concurrent schedulers', async () => {
      const stores = backend.open(6);
      await stores[0]!.markRegistered(['a', 'b', 'c']);
      const now = Date.now();
      await stores[0]!.recordHeartbeats(
        ['a', 'b', 'c'].map((propletId) => ({ propletId, receivedAt: now })),
        now,
      );
      const picks = await Promise.all(
        Array.from({ length: 30 }, (_, i) => stores[i % stores.length]!.pickNext(now)),
      );
      const counts = new Map<string | undefined, number>();
      for (const pick of picks) counts.set(pick, (counts.get(pick) ?? 0) + 1);
      assert.deepEqual(
        counts,
        new Map([
          ['a', 10],
          ['b', 10],
          ['c', 10],
        ]),
      );
    });

    it('reports each dead proplet to one sweep only, when several sweep at once', async () => {
      const stores = backend.open(4);
      const now = Date.now();
      const ids = Array.from({ length: 20 }, (_, i) => `q${String(i).padStart(2, '0')}`);
      await stores[0]!.recordHeartbeats(
        ids.map((propletId) => ({ propletId, receivedAt: now })),
        now,
      );
      const sweeps = await Promise.all(stores.map((store) => store.sweepDead(now + TIMEOUT + 1)));
      const dead = sweeps.flat().map((entry) => entry.id);
      assert.deepEqual(dead.sort(), ids);
      assert.ok(sweeps.flat().every((entry) => entry.lastBeatMs === now));
    });
  });
}
