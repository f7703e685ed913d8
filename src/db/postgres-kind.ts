import type pg from 'pg';
import type { Config } from '../config/config.ts';
import { standaloneClient } from './connection.ts';

/**
 * True when the server is PGlite, which serves all connections with one session (our stand-in, or one run
 * elsewhere): named statements, advisory locks and per-connection settings are then shared by everyone.
 */
export async function sharesOneSession(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ version: string }>('SELECT version()');
  return /\bPGlite\b/.test(rows[0]?.version ?? '');
}

export async function isSharedSessionServer(postgres: Config['postgres']): Promise<boolean> {
  const client = standaloneClient(postgres);
  try {
    await client.connect();
  } catch (error) {
    // A database still to be created (migrations do): PGlite has no such case, it takes any name.
    if ((error as { code?: string }).code === '3D000') return false;
    throw error;
  }
  try {
    return await sharesOneSession(client);
  } finally {
    await client.end();
  }
}
