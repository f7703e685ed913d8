import { Placeholder, sql, type SQL } from 'drizzle-orm';
import type { AttemptOutcome } from '../domain/task-attempt.ts';
import { taskAttempts } from './schema.ts';

/**
 * The statements that move a task also write its history of runs (task_attempts), in the same statement, so
 * the history can never disagree with the task: these are the CTE pieces they share.
 */

/** A value, or the placeholder of a prepared statement (see PreparedStatement) that stands for it. */
type Value<T> = T | Placeholder;

const timestamp = (at: Value<Date>) => (at instanceof Placeholder ? at : at.toISOString());

/** Opens a run for each (task, proplet) the `from` CTE yields (columns id, proplet_id); idempotent. */
export function openAttempts(from: SQL, attempt: Value<number>, at: Value<Date>): SQL {
  return sql`INSERT INTO ${taskAttempts} (task_id, attempt, proplet_id, started_at)
    SELECT id, ${attempt}::int, proplet_id, ${timestamp(at)}::timestamptz FROM ${from}
    ON CONFLICT (task_id, attempt, proplet_id) DO NOTHING`;
}

/**
 * Closes the open runs of the tasks the `changed` CTE yields (columns id, attempt: the attempt that ended),
 * all of them or only `propletId`'s.
 */
export function closeAttempts(
  changed: SQL,
  outcome: {
    outcome: Value<AttemptOutcome>;
    error: Value<string | null>;
    at: Value<Date>;
    propletId?: Value<string>;
  },
): SQL {
  return sql`UPDATE ${taskAttempts} SET finished_at = ${timestamp(outcome.at)}::timestamptz,
      outcome = ${outcome.outcome}, error = ${outcome.error}
    FROM ${changed} AS ended
    WHERE ${taskAttempts.taskId} = ended.id AND ${taskAttempts.attempt} = ended.attempt
      AND ${taskAttempts.finishedAt} IS NULL
      ${outcome.propletId === undefined ? sql`` : sql`AND ${taskAttempts.propletId} = ${outcome.propletId}`}`;
}
