import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from '../observability/logger.ts';
import { servePglite } from './pglite-server.ts';

/**
 * Pools of the api and the workers plus BullMQ's pools and LISTEN clients, when queues live in Postgres
 * too; a connection beyond this is refused.
 */
const MAX_CONNECTIONS = 256;

export interface EmbeddedPostgres {
  host: string;
  port: number;
  /** PGlite has one database. */
  database: string;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * PGlite, the real Postgres compiled to WebAssembly, with its files under `dataDir` so tasks survive a
 * restart, served on a loopback port (pglite-server.ts). Everything reaches it with node-postgres, as
 * it would a real Postgres: one code path for both. Its connections share one session (queued while one
 * has a transaction open), which is correct but serial, and why named statements are off here.
 */
export async function startEmbeddedPostgres(dataDir: string, logger: Logger): Promise<EmbeddedPostgres> {
  const directory = join(dataDir, 'pglite');
  await mkdir(directory, { recursive: true });
  const started = Date.now();
  const db = await PGlite.create(directory);
  let server;
  try {
    server = await servePglite(db, '127.0.0.1', MAX_CONNECTIONS);
  } catch (error) {
    await db.close();
    throw error;
  }
  const { port } = server;
  logger.info({ dataDir: directory, port, bootMs: Date.now() - started }, 'embedded Postgres (PGlite) ready');
  return {
    host: '127.0.0.1',
    port,
    database: 'postgres',
    dataDir: directory,
    close: async () => {
      await server.close();
      // An open PGlite keeps the process alive; closing also flushes its files.
      await db.close();
    },
  };
}
