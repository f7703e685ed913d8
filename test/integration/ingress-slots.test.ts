import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { IngressSlots } from '../../src/redis/ingress-slots.ts';
import { deleteKeysWithPrefix } from '../support/redis-cleanup.ts';
import { TEST_REDIS_URL, uniqueSuffix } from '../support/test-database.ts';

const PREFIX = `{slots-test-${uniqueSuffix()}}`;
let redis: Redis;

before(() => {
  redis = new Redis(TEST_REDIS_URL);
});

after(async () => {
  await redis.quit();
  await deleteKeysWithPrefix(PREFIX);
});

const freshSlots = (leaseMs = 10_000) => new IngressSlots(redis, `${PREFIX}:${uniqueSuffix()}`, leaseMs);

describe('ingress slots (Redis leases)', () => {
  it('gives each instance the lowest free slot, and a released one again', async () => {
    const slots = freshSlots();
    assert.equal(await slots.claimLowest('a'), 0);
    assert.equal(await slots.claimLowest('b'), 1);
    await slots.release(0, 'a');
    assert.equal(await slots.claimLowest('c'), 0);
    assert.deepEqual((await slots.used()).sort(), [0, 1]);
  });

  it('renews only its own lease, and only releases its own', async () => {
    const slots = freshSlots();
    const slot = await slots.claimLowest('a');
    assert.equal(await slots.renew(slot, 'a'), true);
    assert.equal(await slots.renew(slot, 'b'), false);
    await slots.release(slot, 'b');
    assert.equal(await slots.claim(slot, 'b'), false);
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

  it('can also look at slots Redis does not remember, skipping the held ones', async () => {
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
  });
});
