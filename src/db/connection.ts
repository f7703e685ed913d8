import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Config } from '../config/config.ts';
import * as schema from './schema.ts';

export type Database = NodePgDatabase<typeof schema>;

export interface PostgresHandle {
  pool: pg.Pool;
  db: Database;
  close(): Promise<void>;
}

/**
 * libpq's sslmode, as far as node-postgres can follow it. It has no fallback between plain and TLS, so
 * allow and prefer connect without TLS, as disable does. require encrypts without checking the server;
 * verify-ca checks that its certificate chains to the root certificate (or the system's CAs), verify-full
 * also that it names the host. As in libpq, require with a root certificate given verifies like verify-ca.
 */
export function sslOptions(postgres: Config['postgres']): pg.PoolConfig['ssl'] {
  const { sslmode, sslRootCert } = postgres;
  if (sslmode !== 'require' && sslmode !== 'verify-ca' && sslmode !== 'verify-full') return undefined;
  if (sslmode === 'require' && sslRootCert === undefined) return { rejectUnauthorized: false };
  const ca = sslRootCert === undefined ? {} : { ca: sslRootCert };
  if (sslmode === 'verify-full') return { ...ca, rejectUnauthorized: true };
  return { ...ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
}

export function poolConfig(postgres: Config['postgres'], database = postgres.database): pg.PoolConfig {
  const ssl = sslOptions(postgres);
  return {
    host: postgres.host,
    port: postgres.port,
    user: postgres.user,
    password: postgres.password,
    database,
    ssl,
    max: postgres.poolSize,
    connectionTimeoutMillis: 5_000,
    application_name: 'propeller-manager',
  };
}

/**
 * A client checked out (a transaction, between its statements) whose connection is lost goes back to the
 * pool at once, which discards it. The pool no longer listens to a client it lent, so the loss would be an
 * uncaught 'error' event, ending the process; and Drizzle never returns a client whose BEGIN failed
 * (drizzle-orm#6023), so a few Postgres restarts would leave a pool with no client to lend. The holder's
 * statements fail as they would anyway; its own release, should it come, does nothing.
 */
function discardOnConnectionLoss(pool: pg.Pool): void {
  const lent = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => lent.add(client));
  pool.on('release', (_error, client) => lent.delete(client));
  pool.on('connect', (client) => {
    client.on('error', () => {
      if (!lent.has(client)) return;
      client.release(true);
      client.release = () => undefined;
    });
  });
}

/**
 * One connection of its own (migrations, probes at start-up). A connection lost while idle (Postgres
 * crashing) is reported as an 'error' event, which with no listener would crash the process with a stack;
 * ignored, the next query fails instead and start-up ends saying why.
 */
export function standaloneClient(postgres: Config['postgres'], database = postgres.database): pg.Client {
  const client = new pg.Client(poolConfig(postgres, database));
  client.on('error', () => undefined);
  return client;
}

export function connectPostgres(postgres: Config['postgres']): PostgresHandle {
  const pool = new pg.Pool(poolConfig(postgres));
  // An idle client losing its server (Postgres restarting) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  discardOnConnectionLoss(pool);
  return { pool, db: drizzle({ client: pool, schema }), close: () => pool.end() };
}
