import pg from 'pg';
import { readPropletLog, type PropletEvent } from './proplet-log.ts';

export interface TaskRow {
  id: string;
  state: number;
  results: unknown;
  error: string | null;
  attempt: number;
  retries: number;
  propletId: string | null;
  startTime: number | null;
  /** When the result was received (the manager records the ingress's receive time). */
  finishTime: number | null;
  /**
   * When the row was last written (its commit timestamp): for a finished task, when its end was applied,
   * which a dependency that was down can delay well past finishTime.
   */
  appliedAt: number | null;
  loadId: string | null;
}

export interface AttemptRow {
  taskId: string;
  attempt: number;
  propletId: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: string;
  error: string | null;
}

/** What the end of a run left behind: the database as the manager wrote it, and every proplet's log. */
export interface Evidence {
  tasks: Map<string, TaskRow>;
  /** Rows of task_attempts by task id; undefined when the table does not exist. */
  attempts?: Map<string, AttemptRow[]>;
  /** Every proplet's events, in the order each wrote them. */
  events: PropletEvent[];
}

const ms = (value: Date | null) => (value ? value.getTime() : null);

export async function gatherEvidence(
  connection: pg.ClientConfig,
  propletLogs: readonly string[],
): Promise<Evidence> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    const tasks = new Map<string, TaskRow>();
    const taskRows = await client.query<{
      id: string;
      state: number;
      results: unknown;
      error: string | null;
      attempt: number;
      retries: number;
      proplet_id: string | null;
      start_time: Date | null;
      finish_time: Date | null;
      applied_at: Date | null;
      load_id: string | null;
    }>(
      `SELECT id, state, results, error, attempt, retries, proplet_id, start_time, finish_time,
              pg_xact_commit_timestamp(xmin) AS applied_at, metadata->>'load_id' AS load_id
         FROM tasks`,
    );
    for (const row of taskRows.rows)
      tasks.set(row.id, {
        id: row.id,
        state: row.state,
        results: row.results,
        error: row.error,
        attempt: row.attempt,
        retries: row.retries,
        propletId: row.proplet_id,
        startTime: ms(row.start_time),
        finishTime: ms(row.finish_time),
        appliedAt: ms(row.applied_at),
        loadId: row.load_id,
      });

    const exists = await client.query<{ found: string | null }>(
      "SELECT to_regclass('public.task_attempts') AS found",
    );
    let attempts: Map<string, AttemptRow[]> | undefined;
    if (exists.rows[0]?.found) {
      attempts = new Map();
      const rows = await client.query<{
        task_id: string;
        attempt: number;
        proplet_id: string;
        started_at: Date;
        finished_at: Date | null;
        outcome: string;
        error: string | null;
      }>(
        `SELECT task_id, attempt, proplet_id, started_at, finished_at, outcome, error
           FROM task_attempts ORDER BY task_id, attempt, started_at`,
      );
      for (const row of rows.rows) {
        const list = attempts.get(row.task_id) ?? [];
        list.push({
          taskId: row.task_id,
          attempt: row.attempt,
          propletId: row.proplet_id,
          startedAt: row.started_at.getTime(),
          finishedAt: ms(row.finished_at),
          outcome: row.outcome,
          error: row.error,
        });
        attempts.set(row.task_id, list);
      }
    }
    return { tasks, attempts, events: propletLogs.flatMap((path) => readPropletLog(path)) };
  } finally {
    await client.end();
  }
}

/** Tasks not yet in a terminal state (Pending, Scheduled, Running), counted straight from the database. */
export async function unfinishedCount(connection: pg.ClientConfig): Promise<number> {
  const client = new pg.Client({ ...connection, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM tasks WHERE state IN (0, 1, 2)',
    );
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

/** A task's runs in one line: attempt, proplet, when (seconds after its first run began), outcome, error. */
export function describeAttempts(evidence: Evidence, id: string): string {
  const rows = evidence.attempts?.get(id) ?? [];
  const first = rows[0]?.startedAt ?? 0;
  const at = (ms: number | null) => (ms === null ? '…' : `+${((ms - first) / 1_000).toFixed(1)}s`);
  return rows.length === 0
    ? 'no attempt rows'
    : rows
        .map(
          (row) =>
            `#${row.attempt} ${row.propletId} ${at(row.startedAt)}–${at(row.finishedAt)} ${row.outcome}${row.error ? ` (${row.error})` : ''}`,
        )
        .join('; ');
}
