import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_SLOTS, type IngressSlots } from '../../src/coordination/ingress-slots.ts';
import { PostgresIngressSlots } from '../../src/db/postgres-ingress-slots.ts';
import { ingressSlots } from '../../src/db/schema.ts';
import { RedisIngressSlots } from '../../src/redis/ingress-slots.ts';
import {
  available,
  lifecycleOf,
  postgresStoreFixture,
  redisStoreFixture,
} from '../support/store-fixtures.ts';

/**
 * One implementation under test. `open` gives `count` handles on one set of slots, as the ingress instances
 * of a deployment have; every call starts from no slot ever used.
 */
interface Backend {
  name: string;
  setUp(): Promise<void>;
  reset(): Promise<void>;
  tearDown(): Promise<void>;
  open(count: number, leaseMs: number): IngressSlots[];
}

function redisBackend(): Backend {
  const fixture = redisStoreFixture('slots');
  return {
    name: 'Redis leases',
    ...lifecycleOf(fixture),
    open: (count, leaseMs) => {
      const scope = fixture.scope();
      return Array.from({ length: count }, () => new RedisIngressSlots(fixture.redis, scope, leaseMs));
    },
  };
}

function postgresBackend(): Backend {
  const fixture = postgresStoreFixture([ingressSlots]);
  return {
    name: 'Postgres leases',
    ...lifecycleOf(fixture),
    open: (count, leaseMs) =>
      Array.from({ length: count }, () => new PostgresIngressSlots(fixture.db, leaseMs)),
  };
}

const numerically = (slots: number[]) => [...slots].sort((a, b) => a - b);

for (const backend of available({ redis: redisBackend, postgres: postgresBackend })) {
  describe(`ingress slots (${backend.name})`, () => {
    before(() => backend.setUp());
    after(() => backend.tearDown());
    beforeEach(() => backend.reset());

    const freshSlots = (leaseMs = 10_000) => backend.open(1, leaseMs)[0]!;

    it('gives each instance the lowest free slot, and a released one again', async () => {
      const slots = freshSlots();
      assert.equal(slots.leaseMs, 10_000);
      assert.equal(await slots.claimLowest('a'), 0);
      assert.equal(await slots.claimLowest('b'), 1);
      await slots.release(0, 'a');
      assert.equal(await slots.claimLowest('c'), 0);
      assert.deepEqual(numerically(await slots.used()), [0, 1]);
    });

    it('renews only its own lease, and only releases its own', async () => {
      const slots = freshSlots();
      const slot = await slots.claimLowest('a');
      assert.equal(await slots.renew(slot, 'a'), true);
      assert.equal(await slots.renew(slot, 'b'), false);
      await slots.release(slot, 'b');
      assert.equal(await slots.claim(slot, 'b'), false);
      await slots.release(slot, 'a');
      assert.equal(await slots.renew(slot, 'a'), false);
      assert.equal(await slots.claim(slot, 'b'), true);
    });

    it('reports a lapsed slot as an orphan until it is adopted and retired', async () => {
      const slots = freshSlots(100);
      await slots.claimLowest('a');
      await slots.claimLowest('b');
      assert.equal(await slots.renew(1, 'b'), true);
      await sleep(150);
      assert.deepEqual(await slots.orphans(), [0, 1]);
      assert.equal(await slots.claim(0, 'adopter'), true);
      assert.deepEqual(await slots.orphans(), [1]);
      await slots.retire(0, 'adopter');
      assert.deepEqual(await slots.used(), [1]);
      assert.deepEqual(await slots.orphans(), [1]);
    });

    it('can also look at slots the store does not remember, skipping the held ones', async () => {
      const slots = freshSlots();
      await slots.claimLowest('a');
      assert.deepEqual(await slots.orphans(), []);
      assert.deepEqual(await slots.orphans(4), [1, 2, 3]);
    });

    it('lets a lease lapse when its holder stops renewing, so another can take the slot', async () => {
      const slots = freshSlots(100);
      const slot = await slots.claimLowest('stalled');
      await sleep(150);
      assert.equal(await slots.claim(slot, 'other'), true);
      assert.equal(await slots.renew(slot, 'stalled'), false);
      await slots.release(slot, 'stalled');
      assert.equal(await slots.renew(slot, 'other'), true);
    });

    it('does not count an adopted slot as used, nor one retired by another instance as held by it', async () => {
      const slots = freshSlots();
      assert.equal(await slots.claim(5, 'adopter'), true);
      assert.deepEqual(await slots.used(), []);
      assert.deepEqual(await slots.orphans(), []);
      await slots.claimLowest('a');
      await slots.retire(0, 'someone-else');
      assert.deepEqual(await slots.used(), []);
      // Retired from the used set, but its holder keeps the lease.
      assert.equal(await slots.claim(0, 'b'), false);
      assert.equal(await slots.renew(0, 'a'), true);
      assert.equal(await slots.claimLowest('c'), 1);
    });

    it('gives instances starting at once distinct slots, the lowest ones', async () => {
      const handles = backend.open(8, 10_000);
      const claimed = await Promise.all(handles.map((slots, i) => slots.claimLowest(`instance-${i}`)));
      assert.deepEqual(numerically(claimed), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.deepEqual(numerically(await handles[0]!.used()), [0, 1, 2, 3, 4, 5, 6, 7]);
    });

    it('lets only one of several instances adopt an orphan', async () => {
      const handles = backend.open(6, 10_000);
      const won = await Promise.all(handles.map((slots, i) => slots.claim(3, `adopter-${i}`)));
      assert.equal(won.filter(Boolean).length, 1);
      const winner = won.indexOf(true);
      assert.equal(await handles[0]!.renew(3, `adopter-${winner}`), true);
    });

    it('refuses a slot when all are taken', async () => {
      const slots = freshSlots();
      for (let i = 0; i < MAX_SLOTS; i++) assert.equal(await slots.claimLowest(`i${i}`), i);
      await assert.rejects(slots.claimLowest('late'), /ingress slots are taken/);
      await slots.release(42, 'i42');
      assert.equal(await slots.claimLowest('late'), 42);
    });
  });
}
