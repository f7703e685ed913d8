import type pg from 'pg';
import { TaskState } from '../../src/domain/task-state.ts';
import { WASM_BYTES } from './add-task.ts';

/**
 * Tasks written straight into Postgres, shaped as POST /tasks writes them (the `add` task of add-task.ts:
 * inputs n and 1, the same Wasm file), in one statement: far faster than the API when a scenario needs many
 * tasks to exist before it measures something else. created_at is one millisecond apart, the newest last.
 */
export async function insertPendingTasks(
  pool: pg.Pool,
  count: number,
  firstInput = 0,
): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ id: string; expected: string }>(
    `INSERT INTO tasks (id, name, state, file, inputs, created_at, updated_at)
     SELECT gen_random_uuid(), 'add', $1::smallint, $2::bytea, jsonb_build_array((g + $4::int)::text, '1'),
            now() - (($3::int - g) * interval '1 millisecond'), now() - (($3::int - g) * interval '1 millisecond')
     FROM generate_series(1, $3::int) AS g
     RETURNING id, ((inputs->>0)::bigint + 1)::text AS expected`,
    [TaskState.Pending, WASM_BYTES, count, firstInput - 1],
  );
  return new Map(rows.map((row) => [row.id, row.expected]));
}

/**
 * A history: `count` tasks as a manager that has run them for a while holds them (most Completed with
 * their result, some Failed, some never started), one second apart over the last `count` seconds; their ids.
 */
export async function insertTaskHistory(pool: pg.Pool, count: number, propletId: string): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO tasks (id, name, state, file, inputs, proplet_id, results, error, attempt,
                        start_time, finish_time, created_at, updated_at)
     SELECT gen_random_uuid(), 'add', s.state, $1::bytea, jsonb_build_array(g::text, '1'),
            CASE WHEN s.state = $3::smallint THEN NULL ELSE $5::text END,
            CASE WHEN s.state = $4::smallint THEN to_jsonb((g + 1)::text) END,
            CASE WHEN s.state = $6::smallint THEN 'wasm trap: unreachable' END,
            CASE WHEN s.state = $3::smallint THEN 0 ELSE 1 END,
            CASE WHEN s.state = $3::smallint THEN NULL ELSE t.at END,
            CASE WHEN s.state = $3::smallint THEN NULL ELSE t.at + interval '20 milliseconds' END,
            t.at, t.at + interval '20 milliseconds'
     FROM generate_series(1, $2::int) AS g
     CROSS JOIN LATERAL (SELECT now() - (($2::int - g) * interval '1 second') AS at) AS t
     CROSS JOIN LATERAL (SELECT CASE WHEN g % 20 = 0 THEN $6::smallint WHEN g % 10 = 1 THEN $3::smallint ELSE $4::smallint END AS state) AS s
     RETURNING id`,
    [WASM_BYTES, count, TaskState.Pending, TaskState.Completed, propletId, TaskState.Failed],
  );
  return rows.map((row) => row.id);
}
