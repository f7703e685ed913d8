import { sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { Redis } from 'ioredis';
import { connectPostgres, type Database, type PostgresHandle } from '../../src/db/connection.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { deleteKeysWithPrefix } from './redis-cleanup.ts';
import { testConfig } from './test-config.ts';
import { createTestDatabase, TEST_REDIS_URL, uniqueSuffix } from './test-database.ts';

/**
 * What the tests of a store implementation (Redis or Postgres) need around it: a connection set up once
 * per file, an empty state before each case, and nothing left behind.
 */
export interface StoreFixture {
  setUp(): Promise<void>;
  reset(): Promise<void>;
  tearDown(): Promise<void>;
}

/** Backends of the tests, the Redis one only where there is a Redis. */
export function available<T>(backends: { redis: () => T; postgres: () => T }): T[] {
  return TEST_REDIS_URL === undefined ? [backends.postgres()] : [backends.redis(), backends.postgres()];
}

/** A Redis connection; each scope() is a key prefix of its own, so no case sees another's keys. */
export function redisStoreFixture(name: string): StoreFixture & { readonly redis: Redis; scope(): string } {
  const prefix = `{${name}-test-${uniqueSuffix()}}`;
  let redis: Redis | undefined;
  return {
    setUp: async () => {
      redis = new Redis(TEST_REDIS_URL!);
      await redis.ping();
    },
    reset: () => Promise.resolve(),
    tearDown: async () => {
      await redis?.quit();
      await deleteKeysWithPrefix(prefix);
    },
    get redis() {
      return redis!;
    },
    scope: () => `${prefix}:${uniqueSuffix()}`,
  };
}

/** A migrated database of its own, its `tables` emptied before each case. */
export function postgresStoreFixture(tables: PgTable[]): StoreFixture & { readonly db: Database } {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let postgres: PostgresHandle | undefined;
  return {
    setUp: async () => {
      database = await createTestDatabase();
      const config = testConfig(database);
      await migrateDatabase(config.postgres, createLogger('fatal'));
      postgres = connectPostgres(config.postgres);
    },
    reset: async () => {
      await postgres!.db.execute(sql`TRUNCATE ${sql.join(tables, sql`, `)}`);
    },
    tearDown: async () => {
      await postgres?.close();
      await database?.drop();
    },
    get db() {
      return postgres!.db;
    },
  };
}

/** Just the set-up, reset and tear-down of a fixture, to spread into a backend under test. */
export function lifecycleOf(fixture: StoreFixture): StoreFixture {
  return { setUp: () => fixture.setUp(), reset: () => fixture.reset(), tearDown: () => fixture.tearDown() };
}
