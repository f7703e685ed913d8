import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The local Postgres the tests use; CI starts it (see .ci/run). */
export const TEST_POSTGRES = {
  host: process.env.TEST_POSTGRES_HOST ?? '127.0.0.1',
  port: Number(process.env.TEST_POSTGRES_PORT ?? 5432),
  user: process.env.TEST_POSTGRES_USER ?? 'postgres',
  password: process.env.TEST_POSTGRES_PASS ?? '',
};

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

export function uniqueSuffix(): string {
  return randomBytes(5).toString('hex');
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...TEST_POSTGRES, database: 'postgres' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database of its own for one test file; the manager migrates it at start-up. */
export async function createTestDatabase(): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `propeller_test_${uniqueSuffix()}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  return {
    name,
    drop: () =>
      admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
