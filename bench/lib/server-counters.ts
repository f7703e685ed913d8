import { Redis } from 'ioredis';
import type pg from 'pg';
import { TEST_REDIS_URL } from '../../test/support/test-database.ts';

export interface ServerCounters {
  /** Transactions Postgres committed in the database (the benchmark's own polling included). */
  pgCommits: number;
  /** Commands Redis processed, from every client (those inside BullMQ's Lua scripts one by one). */
  redisCommands: number;
}

export async function serverCounters(pool: pg.Pool, database: string): Promise<ServerCounters> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1',
    [database],
  );
  const redis = new Redis(TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    const info = await redis.info('stats');
    return {
      pgCommits: Number(rows[0]?.n ?? Number.NaN),
      redisCommands: Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN),
    };
  } finally {
    redis.disconnect();
  }
}
