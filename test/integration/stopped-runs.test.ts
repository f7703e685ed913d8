import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { MARK_TTL_MS, type StoppedRuns } from '../../src/coordination/stopped-runs.ts';
import { PostgresStoppedRuns } from '../../src/db/postgres-stopped-runs.ts';
import { stoppedRuns } from '../../src/db/schema.ts';
import { RedisStoppedRuns } from '../../src/redis/stopped-runs.ts';
import {
  available,
  lifecycleOf,
  postgresStoreFixture,
  redisStoreFixture,
} from '../support/store-fixtures.ts';

/**
 * One implementation under test. `open` gives `count` handles on one set of marks, as the processes of a
 * deployment have; every call starts from no marks.
 */
interface Backend {
  name: string;
  setUp(): Promise<void>;
  reset(): Promise<void>;
  tearDown(): Promise<void>;
  open(count: number): StoppedRuns[];
  /** Cases of expiry, which each store sets up in its own way. */
  expiryCases(): void;
}

const redisFixture = redisStoreFixture('stopped-runs');
const postgresFixture = postgresStoreFixture([stoppedRuns]);

const redisBackend: Backend = {
  name: 'Redis',
  ...lifecycleOf(redisFixture),
  open: (count) => {
    const scope = redisFixture.scope();
    return Array.from({ length: count }, () => new RedisStoppedRuns(redisFixture.redis, scope));
  },
  expiryCases: () => {
    it('lets the marks of a proplet expire after MARK_TTL_MS', async () => {
      const scope = redisFixture.scope();
      const scoped = new RedisStoppedRuns(redisFixture.redis, scope);
      await scoped.mark('task-1', 'proplet-1');
      const ttl = await redisFixture.redis.pttl(`${scope}:stopped-runs:proplet-1`);
      assert.ok(ttl > 0 && ttl <= MARK_TTL_MS, `ttl ${ttl}`);
    });
  },
};

const postgresBackend: Backend = {
  name: 'Postgres',
  ...lifecycleOf(postgresFixture),
  open: (count) => Array.from({ length: count }, () => new PostgresStoppedRuns(postgresFixture.db)),
  expiryCases: () => {
    it('does not take a lapsed mark, and a new mark of the run renews it', async () => {
      const lapsing = new PostgresStoppedRuns(postgresFixture.db, 0);
      const lasting = new PostgresStoppedRuns(postgresFixture.db);
      await lapsing.mark('task-1', 'proplet-1');
      assert.equal(await lasting.consume('task-1', 'proplet-1'), false);
      await lapsing.mark('task-1', 'proplet-1');
      await lasting.mark('task-1', 'proplet-1');
      assert.equal(await lasting.consume('task-1', 'proplet-1'), true);
    });

    it('clears the lapsed marks left behind when it marks a run', async () => {
      const lapsing = new PostgresStoppedRuns(postgresFixture.db, 0);
      const lasting = new PostgresStoppedRuns(postgresFixture.db);
      await lapsing.mark('task-1', 'proplet-1');
      await lapsing.mark('task-2', 'proplet-2');
      await lasting.mark('task-3', 'proplet-3');
      const { rows } = await postgresFixture.db.execute<{ task_id: string }>(
        sql`SELECT task_id FROM ${stoppedRuns} ORDER BY task_id`,
      );
      assert.deepEqual(
        rows.map((row) => row.task_id),
        ['task-3'],
      );
    });
  },
};

for (const backend of available({ redis: () => redisBackend, postgres: () => postgresBackend })) {
  describe(`stopped runs (${backend.name})`, () => {
    before(() => backend.setUp());
    after(() => backend.tearDown());
    beforeEach(() => backend.reset());

    const fresh = () => backend.open(1)[0]!;

    it('takes the report of a stopped run for its own exactly once', async () => {
      const runs = fresh();
      await runs.mark('task-1', 'proplet-1');
      assert.equal(await runs.consume('task-1', 'proplet-1'), true);
      assert.equal(await runs.consume('task-1', 'proplet-1'), false);
    });

    it('knows nothing of runs it was not told about', async () => {
      const runs = fresh();
      assert.equal(await runs.consume('task-1', 'proplet-1'), false);
      await runs.mark('task-1', 'proplet-1');
      assert.equal(await runs.consume('task-1', 'proplet-2'), false);
      assert.equal(await runs.consume('task-2', 'proplet-1'), false);
      assert.equal(await runs.consume('task-1', 'proplet-1'), true);
    });

    it('marks a run once however often it is stopped', async () => {
      const runs = fresh();
      await runs.mark('task-1', 'proplet-1');
      await runs.mark('task-1', 'proplet-1');
      assert.equal(await runs.consume('task-1', 'proplet-1'), true);
      assert.equal(await runs.consume('task-1', 'proplet-1'), false);
    });

    it('drops a mark on unmark, leaving the others', async () => {
      const runs = fresh();
      await runs.mark('task-1', 'proplet-1');
      await runs.mark('task-2', 'proplet-1');
      await runs.unmark('task-1', 'proplet-1');
      await runs.unmark('task-3', 'proplet-1');
      assert.equal(await runs.consume('task-1', 'proplet-1'), false);
      assert.equal(await runs.consume('task-2', 'proplet-1'), true);
    });

    it('forgets every mark of a restarted proplet, and only of that one', async () => {
      const runs = fresh();
      await runs.mark('task-1', 'proplet-1');
      await runs.mark('task-2', 'proplet-1');
      await runs.mark('task-1', 'proplet-2');
      await runs.forgetProplet('proplet-1');
      assert.equal(await runs.consume('task-1', 'proplet-1'), false);
      assert.equal(await runs.consume('task-2', 'proplet-1'), false);
      assert.equal(await runs.consume('task-1', 'proplet-2'), true);
      await runs.mark('task-1', 'proplet-1');
      assert.equal(await runs.consume('task-1', 'proplet-1'), true);
    });

    it('gives a mark to one of several processes consuming it at once', async () => {
      const handles = backend.open(8);
      await handles[0]!.mark('task-1', 'proplet-1');
      const consumed = await Promise.all(handles.map((runs) => runs.consume('task-1', 'proplet-1')));
      assert.equal(consumed.filter(Boolean).length, 1);
    });

    backend.expiryCases();
  });
}
