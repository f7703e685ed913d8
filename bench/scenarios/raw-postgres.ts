import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createTestDatabase } from '../../test/support/test-database.ts';
import { ratePerSecond } from '../lib/stats.ts';
import type { Scenario } from '../lib/scenario.ts';

/** Connections inserting side by side in the second measurement: what a manager's pool does under load. */
const CONNECTIONS = 4;

/** Sequential autocommit single-row INSERTs on each connection for `seconds`; rows per second in all. */
async function insertRate(pool: pg.Pool, connections: number, seconds: number): Promise<number> {
  let rows = 0;
  const began = performance.now();
  const until = began + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = await pool.connect();
      try {
        while (performance.now() < until) {
          await client.query(
            'INSERT INTO bench_rows (id, name, payload) VALUES (gen_random_uuid(), $1, $2)',
            ['add', '{"inputs":["1","2"]}'],
          );
          rows++;
        }
      } finally {
        client.release();
      }
    }),
  );
  return ratePerSecond(rows, performance.now() - began);
}

/**
 * Postgres's limit for the statements the task path is made of: single-row INSERTs, each its own
 * transaction (autocommit, so each waits for its commit to be flushed, as the manager's do).
 */
export const rawPostgres: Scenario = {
  name: 'raw-postgres',
  summary: `Postgres alone: single-row autocommit INSERTs, on one connection and on ${CONNECTIONS} side by side`,
  async run(context) {
    const seconds = context.size(5, 1);
    const database = await createTestDatabase();
    context.defer(() => database.drop());
    const pool = new pg.Pool({ ...database.connection, database: database.name, max: CONNECTIONS });
    pool.on('error', () => undefined); // as in ManagerSystem: the query that follows reports it
    context.defer(() => pool.end());
    await pool.query(
      'CREATE TABLE bench_rows (id uuid PRIMARY KEY, name text NOT NULL, payload jsonb, created_at timestamptz NOT NULL DEFAULT now())',
    );
    const one = await insertRate(pool, 1, seconds);
    const several = await insertRate(pool, CONNECTIONS, seconds);
    if (one === 0 || several === 0) throw new Error('no row inserted');
    return {
      figures: [
        { key: 'insertsPerSecond1', label: 'INSERT rows/s, 1 connection', value: one, unit: 'rows/s' },
        {
          key: 'insertsPerSecond',
          label: `INSERT rows/s, ${CONNECTIONS} connections`,
          value: several,
          unit: 'rows/s',
        },
      ],
      notes: [`${seconds} s each; a table with a uuid key, text, jsonb and a default timestamp`],
      details: { seconds, connections: CONNECTIONS },
    };
  },
};
