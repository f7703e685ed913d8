import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import type { InvocationMailbox } from '../../src/coordination/invocation-mailbox.ts';
import { PostgresInvocationMailbox } from '../../src/db/postgres-invocation-mailbox.ts';
import { invocationResults } from '../../src/db/schema.ts';
import { RedisInvocationMailbox } from '../../src/redis/invocation-mailbox.ts';
import {
  available,
  lifecycleOf,
  postgresStoreFixture,
  redisStoreFixture,
} from '../support/store-fixtures.ts';

/** One implementation under test; `open` gives `count` mailboxes on one store, as separate processes have. */
interface Backend {
  name: string;
  setUp(): Promise<void>;
  reset(): Promise<void>;
  tearDown(): Promise<void>;
  open(count: number): InvocationMailbox[];
  expiryCases(): void;
}

const redisFixture = redisStoreFixture('invocation-mailbox');
const postgresFixture = postgresStoreFixture([invocationResults]);

const redisBackend: Backend = {
  name: 'Redis',
  ...lifecycleOf(redisFixture),
  open: (count) => {
    const scope = redisFixture.scope();
    return Array.from({ length: count }, () => new RedisInvocationMailbox(redisFixture.redis, scope));
  },
  expiryCases: () => {
    it('keeps an answer under a key that expires', async () => {
      const scope = redisFixture.scope();
      const mailbox = new RedisInvocationMailbox(redisFixture.redis, scope, 60_000);
      await mailbox.deliver('inv-1', { results: '5', error: null });
      const ttl = await redisFixture.redis.pttl(`${scope}:invocation:inv-1`);
      assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
      await mailbox.close();
    });
  },
};

const postgresBackend: Backend = {
  name: 'Postgres',
  ...lifecycleOf(postgresFixture),
  open: (count) => Array.from({ length: count }, () => new PostgresInvocationMailbox(postgresFixture.db)),
  expiryCases: () => {
    it('gives no lapsed answer, and clears lapsed rows when it takes a new one', async () => {
      const lapsing = new PostgresInvocationMailbox(postgresFixture.db, 0);
      const lasting = new PostgresInvocationMailbox(postgresFixture.db);
      await lapsing.deliver('old', { results: 'stale', error: null });
      assert.equal(await lasting.wait('old', 200), undefined);
      await lasting.deliver('new', { results: 'fresh', error: null });
      const { rows } = await postgresFixture.db.execute<{ invocation_id: string }>(
        sql`SELECT invocation_id FROM ${invocationResults}`,
      );
      assert.deepEqual(
        rows.map((row) => row.invocation_id),
        ['new'],
      );
      await Promise.all([lapsing.close(), lasting.close()]);
    });
  },
};

for (const backend of available({ redis: () => redisBackend, postgres: () => postgresBackend })) {
  describe(`${backend.name} invocation mailbox`, () => {
    // Every mailbox a test opened, closed at the end: an open Redis subscriber would keep the file running.
    const open: InvocationMailbox[] = [];
    const mailboxes = (count: number) => {
      const opened = backend.open(count);
      open.push(...opened);
      return opened;
    };

    before(() => backend.setUp());
    beforeEach(() => backend.reset());
    after(async () => {
      await Promise.all(open.map((mailbox) => mailbox.close()));
      await backend.tearDown();
    });

    it('hands an answer delivered by one process to the waiter in another', async () => {
      const [results, api] = mailboxes(2) as [InvocationMailbox, InvocationMailbox];
      const waiting = api.wait('inv-1', 5_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await results.deliver('inv-1', { results: '5', error: null, propletId: 'p-1' });
      assert.deepEqual(await waiting, { results: '5', error: null, propletId: 'p-1' });
    });

    it('keeps an answer that arrives before its waiter looks', async () => {
      const [results, api] = mailboxes(2) as [InvocationMailbox, InvocationMailbox];
      await results.deliver('inv-early', { results: '', error: 'trap' });
      assert.deepEqual(await api.wait('inv-early', 5_000), { results: '', error: 'trap' });
    });

    it('gives each waiter its own answer when many wait at once', async () => {
      const [results, api] = mailboxes(2) as [InvocationMailbox, InvocationMailbox];
      const ids = Array.from({ length: 20 }, (_, i) => `inv-${i}`);
      const waits = ids.map((id) => api.wait(id, 5_000));
      await Promise.all([...ids].reverse().map((id) => results.deliver(id, { results: id, error: null })));
      assert.deepEqual(
        (await Promise.all(waits)).map((outcome) => outcome?.results),
        ids,
      );
    });

    it('ends undefined on timeout, on abort and on close', async () => {
      const [api] = mailboxes(1) as [InvocationMailbox];
      assert.equal(await api.wait('never', 150), undefined);
      const gone = new AbortController();
      const aborted = api.wait('never-2', 5_000, gone.signal);
      gone.abort();
      assert.equal(await aborted, undefined);
      const closing = api.wait('never-3', 5_000);
      await api.close();
      assert.equal(await closing, undefined);
    });

    it('ignores an answer for another invocation', async () => {
      const [results, api] = mailboxes(2) as [InvocationMailbox, InvocationMailbox];
      const waiting = api.wait('mine', 400);
      await results.deliver('theirs', { results: 'x', error: null });
      assert.equal(await waiting, undefined);
    });

    backend.expiryCases();
  });
}
