import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import { standaloneClient } from './connection.ts';
import { sharesOneSession } from './postgres-kind.ts';

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));
/** Any constant works; it only has to be the same in every manager process. */
const MIGRATION_LOCK_KEY = 0x70726f70;

async function createDatabaseIfMissing(postgres: Config['postgres'], logger: Logger): Promise<void> {
  const probe = standaloneClient(postgres);
  try {
    await probe.connect();
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const admin = standaloneClient(postgres, 'postgres');
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(postgres.database)}`);
    logger.info({ database: postgres.database }, 'created database');
  } catch (error) {
    // Another manager process created it first.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await admin.end();
  }
}

/**
 * Applies the committed drizzle-kit migrations. Several processes may start at once: a lock lets one
 * migrate while the others wait, then find nothing left to do.
 */
export async function migrateDatabase(postgres: Config['postgres'], logger: Logger): Promise<void> {
  await createDatabaseIfMissing(postgres, logger);
  const client = standaloneClient(postgres);
  await client.connect();
  try {
    const lock = (await sharesOneSession(client)) ? rowLock : advisoryLock;
    await lock(client, () => migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER }));
  } finally {
    await client.end();
  }
}

type MigrationLock = (client: pg.Client, work: () => Promise<void>) => Promise<void>;

const advisoryLock: MigrationLock = async (client, work) => {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await work();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
};

/**
 * Where every connection shares one session (PGlite), an advisory lock is held by all of them at once, so
 * the lock is a row instead, with a lease in case its holder dies.
 */
const rowLock: MigrationLock = async (client, work) => {
  await client.query('CREATE SCHEMA IF NOT EXISTS propeller_locks');
  await client.query(
    'CREATE TABLE IF NOT EXISTS propeller_locks.migration (id int PRIMARY KEY, until timestamptz NOT NULL)',
  );
  for (;;) {
    const taken = await client.query(
      `INSERT INTO propeller_locks.migration VALUES (1, now() + interval '5 minutes')
       ON CONFLICT (id) DO UPDATE SET until = EXCLUDED.until WHERE propeller_locks.migration.until < now()
       RETURNING id`,
    );
    if (taken.rowCount === 1) break;
    await sleep(50);
  }
  try {
    await work();
  } finally {
    await client.query('DELETE FROM propeller_locks.migration WHERE id = 1');
  }
};
