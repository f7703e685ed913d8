import { asc, eq } from 'drizzle-orm';
import type { AttemptOutcome, TaskAttempt } from '../domain/task-attempt.ts';
import type { Database } from './connection.ts';
import { taskAttempts } from './schema.ts';

/** The history of a task's runs; written by the task transitions themselves (src/db/attempt-records.ts). */
export class AttemptRepository {
  constructor(private readonly db: Database) {}

  /** Oldest first. */
  async list(taskId: string): Promise<TaskAttempt[]> {
    const rows = await this.db
      .select({
        attempt: taskAttempts.attempt,
        propletId: taskAttempts.propletId,
        startedAt: taskAttempts.startedAt,
        finishedAt: taskAttempts.finishedAt,
        outcome: taskAttempts.outcome,
        error: taskAttempts.error,
      })
      .from(taskAttempts)
      .where(eq(taskAttempts.taskId, taskId))
      .orderBy(asc(taskAttempts.attempt), asc(taskAttempts.startedAt), asc(taskAttempts.propletId));
    return rows.map((row) => ({ ...row, outcome: row.outcome as AttemptOutcome }));
  }
}
