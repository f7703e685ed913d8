import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/embedded/postgres.ts';
import { createLogger } from '../../src/observability/logger.ts';

/**
 * The services the tests use: the local ones (CI starts them, see .ci/run), or the stand-ins test/run.ts
 * starts where one does not answer, which it announces through these variables.
 */
export const TEST_POSTGRES = {
  host: process.env.TEST_POSTGRES_HOST ?? '127.0.0.1',
  port: Number(process.env.TEST_POSTGRES_PORT ?? 5432),
  user: process.env.TEST_POSTGRES_USER ?? 'postgres',
  password: process.env.TEST_POSTGRES_PASS ?? '',
};

/** A PGlite data directory to copy for each test database, when there is no Postgres to create them in. */
const PGLITE_TEMPLATE = process.env.TEST_PGLITE_TEMPLATE;

/** Unset ('none') when there is no Redis: managers under test then keep their queues in Postgres. */
export const TEST_REDIS_URL: string | undefined =
  process.env.TEST_REDIS_URL === 'none'
    ? undefined
    : (process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
export const TEST_MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
/** 4 where the broker is the embedded aedes, which has no shared subscriptions. */
export const TEST_MQTT_PROTOCOL_VERSION = process.env.TEST_MQTT_PROTOCOL_VERSION === '4' ? 4 : 5;

export function uniqueSuffix(): string {
  return randomBytes(5).toString('hex');
}

export interface TestDatabase {
  name: string;
  connection: typeof TEST_POSTGRES;
  drop(): Promise<void>;
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

/**
 * A database of its own for one test file; the manager migrates it at start-up. Without a Postgres, a
 * PGlite of its own (PGlite has one database), copied from a template so it need not initialise.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (PGLITE_TEMPLATE) return createPgliteDatabase(PGLITE_TEMPLATE);
  const name = `propeller_test_${uniqueSuffix()}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  return {
    name,
    connection: TEST_POSTGRES,
    drop: () =>
      admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function createPgliteDatabase(template: string): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'propeller-test-pglite-'));
  await cp(join(template, 'pglite'), join(dataDir, 'pglite'), { recursive: true });
  const embedded = await startEmbeddedPostgres(dataDir, createLogger('fatal'));
  return {
    name: embedded.database,
    connection: { host: embedded.host, port: embedded.port, user: 'postgres', password: '' },
    drop: async () => {
      await embedded.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
