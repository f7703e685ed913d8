import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { TaskState, isTerminal, stateName } from '../../src/domain/task-state.ts';

export interface TaskOutcomes {
  expected: number;
  completed: number;
  /** Completed, but with another result than the one its inputs call for. */
  wrongResults: number;
  /** Expected tasks with no row at all. */
  missing: number;
  /** Not Completed when the wait ended, by state name (Failed, Running, Scheduled, ...). */
  notCompleted: Record<string, number>;
  /** Their ids, to tell where they were lost (a start never received, a result never applied). */
  notCompletedIds: string[];
  /** Wall-clock time (ms since the epoch) of the last finish, as the results worker recorded it. */
  lastFinishMs: number | null;
  /** What went wrong, for the scenario's failures; empty when every task completed with its result. */
  failures: string[];
}

async function unfinished(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ state: number; n: string }>(
    'SELECT state, count(*) AS n FROM tasks GROUP BY state',
  );
  return rows.filter((row) => !isTerminal(row.state as TaskState)).reduce((n, row) => n + Number(row.n), 0);
}

/**
 * Waits until no task in the scenario's database is unfinished (or none finished for `stallMs`, or
 * `deadlineMs` passed), then compares every expected task with its row: state Completed, results as expected.
 */
export async function awaitOutcomes(
  pool: pg.Pool,
  expected: ReadonlyMap<string, string>,
  limits: { stallMs: number; deadlineMs: number },
): Promise<TaskOutcomes> {
  const deadline = Date.now() + limits.deadlineMs;
  let last = Number.POSITIVE_INFINITY;
  let progressAt = Date.now();
  for (;;) {
    const left = await unfinished(pool);
    if (left === 0) break;
    if (left < last) {
      last = left;
      progressAt = Date.now();
    }
    if (Date.now() - progressAt > limits.stallMs || Date.now() > deadline) break;
    await sleep(100);
  }
  const { rows } = await pool.query<{
    id: string;
    state: number;
    results: unknown;
    finish_time: Date | null;
  }>('SELECT id, state, results, finish_time FROM tasks WHERE id = ANY($1::uuid[])', [[...expected.keys()]]);
  const notCompleted: Record<string, number> = {};
  const notCompletedIds: string[] = [];
  let completed = 0;
  let wrongResults = 0;
  let lastFinishMs: number | null = null;
  for (const row of rows) {
    if (row.state !== TaskState.Completed) {
      const name = stateName(row.state);
      notCompleted[name] = (notCompleted[name] ?? 0) + 1;
      notCompletedIds.push(row.id);
      continue;
    }
    completed++;
    if (row.results !== expected.get(row.id)) wrongResults++;
    if (row.finish_time) lastFinishMs = Math.max(lastFinishMs ?? 0, row.finish_time.getTime());
  }
  const missing = expected.size - rows.length;
  const failures: string[] = [];
  const stuck = Object.entries(notCompleted);
  if (stuck.length > 0)
    failures.push(
      `${expected.size - completed - missing} of ${expected.size} tasks not Completed: ${stuck.map(([state, n]) => `${n} ${state}`).join(', ')}`,
    );
  if (missing > 0) failures.push(`${missing} tasks created but missing from Postgres`);
  if (wrongResults > 0) failures.push(`${wrongResults} tasks Completed with a wrong result`);
  return {
    expected: expected.size,
    completed,
    wrongResults,
    missing,
    notCompleted,
    notCompletedIds,
    lastFinishMs,
    failures,
  };
}
