import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/embedded/postgres.ts';
import { createLogger } from '../../src/observability/logger.ts';

let dataDir: string;
let embedded: EmbeddedPostgres;
const connect = () =>
  new pg.Client({ host: embedded.host, port: embedded.port, user: 'postgres', database: embedded.database });

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'propeller-pglite-'));
  embedded = await startEmbeddedPostgres(dataDir, createLogger('fatal'));
});

after(async () => {
  await embedded?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Fails the test instead of hanging it when the server stops answering. */
function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    work,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms).unref(),
    ),
  ]);
}

describe('PGlite served to many connections', () => {
  it('never mixes up the statements of concurrent connections, large ones included', async () => {
    const pools = Array.from(
      { length: 4 },
      () => new pg.Pool({ host: embedded.host, port: embedded.port, user: 'postgres', max: 6 }),
    );
    const big = 'x'.repeat(100_000);
    let wrong = 0;
    try {
      await Promise.all(
        Array.from({ length: 600 }, async (_, i) => {
          const padding = 'y'.repeat((i % 5) * 30_000);
          const { rows } = await pools[i % 4]!.query(
            `SELECT $1::int AS n, $2::text AS t, length($3::text) AS l /* ${padding} */`,
            [i, `t${i}`, big],
          );
          if (rows[0].n !== i || rows[0].t !== `t${i}` || rows[0].l !== big.length) wrong++;
        }),
      );
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
    assert.equal(wrong, 0);
  });

  it('rolls back the transaction of a connection that went away, and serves the others', async () => {
    const leaver = connect();
    await leaver.connect();
    leaver.on('error', () => undefined);
    await leaver.query('CREATE TABLE IF NOT EXISTS left_behind (n int)');
    await leaver.query('BEGIN');
    await leaver.query('INSERT INTO left_behind VALUES (1)');
    leaver.connection.stream.destroy();

    const other = connect();
    await within(5_000, other.connect(), 'connect');
    try {
      const { rows } = await within(
        5_000,
        other.query('SELECT count(*)::int AS n FROM left_behind'),
        'query',
      );
      assert.equal(rows[0].n, 0, 'the uncommitted insert was rolled back');
    } finally {
      await other.end();
    }
  });

  it('also when the connection goes away while its transaction-opening exchange still runs', async () => {
    const leaver = connect();
    await leaver.connect();
    leaver.on('error', () => undefined);
    const running = leaver.query('BEGIN; SELECT pg_sleep(0.3)').catch(() => undefined);
    setTimeout(() => leaver.connection.stream.destroy(), 50);
    await running;

    const other = connect();
    await within(5_000, other.connect(), 'connect');
    try {
      const { rows } = await within(5_000, other.query('SELECT 1 AS one'), 'query');
      assert.equal(rows[0].one, 1);
    } finally {
      await other.end();
    }
  });
});
