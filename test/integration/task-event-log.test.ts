import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { connectPostgres, type PostgresHandle } from '../../src/db/connection.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { TaskEventLog } from '../../src/db/task-event-log.ts';
import type { TaskEvent } from '../../src/domain/task-event.ts';
import { TaskState } from '../../src/domain/task-state.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { TaskEventFeed } from '../../src/services/task-event-feed.ts';
import { testConfig } from '../support/test-config.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

describe('the task event log (trigger, leases, pruning) and its feed', () => {
  let database: TestDatabase;
  let postgres: PostgresHandle;
  let log: TaskEventLog;
  const logger = createLogger('fatal');

  const execute = (statement: ReturnType<typeof sql>) => postgres.db.execute(statement);
  const insertTask = async (name = 'add') => {
    const id = randomUUID();
    await execute(sql`INSERT INTO tasks (id, name) VALUES (${id}, ${name})`);
    return id;
  };
  const watchers = async () =>
    Number((await execute(sql`SELECT count(*) AS n FROM task_event_watchers`)).rows[0]!.n);

  before(async () => {
    database = await createTestDatabase();
    const config = testConfig(database);
    await migrateDatabase(config.postgres, logger);
    postgres = connectPostgres(config.postgres);
    log = new TaskEventLog(postgres.db);
  });

  beforeEach(async () => {
    await execute(sql`TRUNCATE task_events, task_event_watchers, tasks CASCADE`);
  });

  after(async () => {
    await postgres.close();
    await database.drop();
  });

  it('records nothing while no process holds a lease, or once its lease lapsed', async () => {
    const id = await insertTask();
    await execute(sql`UPDATE tasks SET state = 1 WHERE id = ${id}`);
    assert.equal(await log.newestId(), 0);
    await log.watch('short', 1);
    await sleep(20);
    await execute(sql`UPDATE tasks SET state = 2 WHERE id = ${id}`);
    assert.equal(await log.newestId(), 0);
  });

  it('records creations, changes of state or attempt and deletions with the state left, nothing else', async () => {
    await log.watch('test', 60_000);
    const id = await insertTask('first');
    await execute(sql`UPDATE tasks SET name = 'renamed', inputs = '["1"]' WHERE id = ${id}`);
    await execute(sql`UPDATE tasks SET state = state WHERE id = ${id}`);
    await execute(
      sql`UPDATE tasks SET state = 2, proplet_id = 'p1', error = ${'e'.repeat(5_000)} WHERE id = ${id}`,
    );
    await execute(sql`UPDATE tasks SET attempt = attempt + 1 WHERE id = ${id}`);
    await execute(sql`DELETE FROM tasks WHERE id = ${id}`);
    const events = await log.after(0, [], 100);
    assert.deepEqual(
      events.map(({ kind, state, previousState, attempt }) => [kind, state, previousState, attempt]),
      [
        ['created', TaskState.Pending, null, 0],
        ['changed', TaskState.Running, TaskState.Pending, 0],
        ['changed', TaskState.Running, TaskState.Running, 1],
        ['deleted', TaskState.Running, null, 1],
      ],
    );
    assert.ok(events.every((event) => event.taskId === id));
    assert.equal(events[0]!.name, 'first');
    assert.equal(events[1]!.name, 'renamed');
    assert.equal(events[1]!.propletId, 'p1');
    assert.equal(events[1]!.error?.length, 1_000);
    assert.ok(events[0]!.time instanceof Date && !Number.isNaN(events[0]!.time.getTime()));
    const ids = events.map((event) => event.id!);
    assert.deepEqual(
      (await log.after(ids[0]!, [ids[1]!], 100)).map((event) => event.id),
      ids.slice(2),
    );
    assert.deepEqual(
      (await log.between(ids[0]!, ids[2]!, 100)).map((event) => event.id),
      ids.slice(1, 3),
    );
  });

  it('prunes a prefix of what is older than the retention, always keeping the newest', async () => {
    await log.watch('test', 60_000);
    const id = await insertTask();
    for (const state of [1, 2, 3]) await execute(sql`UPDATE tasks SET state = ${state} WHERE id = ${id}`);
    const newest = await log.newestId();
    assert.equal(await log.prune(60_000), 0);
    assert.equal(await log.prune(0), 3);
    assert.equal(await log.oldestId(), newest);
    assert.equal(await log.newestId(), newest);
  });

  it('reads the tasks as they are now for a snapshot; an unknown id is left out', async () => {
    const id = await insertTask('snap');
    await execute(sql`UPDATE tasks SET state = 4, attempt = 3, error = 'boom' WHERE id = ${id}`);
    const [snapshot, ...rest] = await log.snapshot([id, randomUUID()]);
    assert.equal(rest.length, 0);
    assert.deepEqual(
      { ...snapshot, time: undefined },
      {
        kind: 'snapshot',
        taskId: id,
        name: 'snap',
        state: TaskState.Failed,
        previousState: null,
        propletId: null,
        attempt: 3,
        error: 'boom',
        time: undefined,
      },
    );
  });

  it('feeds changes to listeners in order, asks them to resync when the log is emptied, and gives up its lease when idle', async () => {
    const feed = new TaskEventFeed(log, {
      watcherId: 'feed-test',
      pollMs: 20,
      leaseMs: 400,
      retentionMs: 60_000,
      idleMs: 100,
      logger,
    });
    const received: TaskEvent[] = [];
    const resyncs: string[] = [];
    const unsubscribe = await feed.subscribe({
      event: (event) => received.push(event),
      resync: (reason) => resyncs.push(reason),
    });
    try {
      assert.equal(await watchers(), 1);
      const id = await insertTask();
      await execute(sql`UPDATE tasks SET state = 1 WHERE id = ${id}`);
      await waitFor(() => received.length === 2, 'two changes');
      assert.deepEqual(
        received.map((event) => event.kind),
        ['created', 'changed'],
      );
      assert.equal(feed.position, received[1]!.id);

      // What a crash of Postgres does to an unlogged table.
      await execute(sql`TRUNCATE task_events`);
      await waitFor(() => resyncs.length === 1, 'resync');
      assert.match(resyncs[0]!, /reset/);
      await execute(sql`UPDATE tasks SET state = 2 WHERE id = ${id}`);
      await waitFor(() => received.length === 3, 'a change after the reset');
    } finally {
      unsubscribe();
    }
    await waitFor(async () => (await watchers()) === 0, 'lease given up', 5_000);
    assert.equal(feed.listening, false);
    await feed.stop();
  });
});
