import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { DrizzleQueryError } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import express from 'express';
import pg from 'pg';
import { pino } from 'pino';
import { UnavailableError, ValidationError } from '../../src/domain/errors.ts';
import { unavailableDependency } from '../../src/http/dependency-errors.ts';
import { errorHandler } from '../../src/http/errors.ts';
import { boundPort, closeServer, listen } from '../../src/http/server.ts';
import { QueueNotReadyError } from '../../src/queue/queue-not-ready-error.ts';
import { connectRedisForRequests } from '../../src/redis/connection.ts';
import { freePort } from '../support/free-port.ts';

function databaseError(code: string, message = 'from the server'): pg.DatabaseError {
  const error = new pg.DatabaseError(message, 0, 'error');
  error.code = code;
  return error;
}

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, syscall: 'connect' });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return assert.fail('no server listens, yet it answered');
}

const failedQuery = (cause: unknown) =>
  new DrizzleQueryError('select "id" from "tasks" where "id" = $1', ['a parameter'], cause as Error);

describe('which dependency an error says is away', () => {
  it('Postgres: server states of a restart, lost connections, refused ones, bare or in a failed query', () => {
    const errors = [
      databaseError('57P01', 'terminating connection due to administrator command'),
      databaseError('57P02'),
      databaseError('57P03', 'the database system is starting up'),
      databaseError('08006'),
      databaseError('08001'),
      databaseError('53300', 'sorry, too many clients already'),
      socketError('ECONNREFUSED'),
      socketError('ECONNRESET'),
      socketError('ETIMEDOUT'),
      socketError('EHOSTUNREACH'),
      new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')]),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') }),
      new Error('Client has encountered a connection error and is not queryable'),
    ];
    for (const error of errors) {
      assert.equal(unavailableDependency(error), 'postgres', error.message);
      assert.equal(unavailableDependency(failedQuery(error)), 'postgres', `in a query: ${error.message}`);
    }
  });

  it('Postgres, as pg and Drizzle report a server where nothing listens', async () => {
    const pool = new pg.Pool({ host: '127.0.0.1', port: await freePort(), connectionTimeoutMillis: 2_000 });
    try {
      const db = drizzle({ client: pool });
      assert.equal(unavailableDependency(await rejectionOf(db.execute('select 1'))), 'postgres');
      // A transaction takes its client from the pool itself: that error comes unwrapped.
      const inTransaction = await rejectionOf(db.transaction(() => Promise.resolve()));
      assert.equal(unavailableDependency(inTransaction), 'postgres');
    } finally {
      await pool.end();
    }
  });

  it('Redis: the requests connection while nothing listens, its timeouts, a queue not ready', async () => {
    const redis = connectRedisForRequests({ url: `redis://127.0.0.1:${await freePort()}` });
    try {
      const error = await rejectionOf(redis.get('key'));
      assert.equal((error as Error).name, 'MaxRetriesPerRequestError');
      assert.equal(unavailableDependency(error), 'redis');
    } finally {
      redis.disconnect();
    }
    assert.equal(unavailableDependency(new Error('Command timed out')), 'redis');
    assert.equal(unavailableDependency(new Error('Connection is closed.')), 'redis');
    assert.equal(unavailableDependency(new QueueNotReadyError('task-start', 'redis', 2_000)), 'redis');
    // With the queues in Postgres, a queue not ready is Postgres away.
    assert.equal(unavailableDependency(new QueueNotReadyError('task-start', 'postgres', 2_000)), 'postgres');
  });

  it('none for anything else: constraint and value errors, bugs, errors that only wrap a socket error', () => {
    const errors: unknown[] = [
      failedQuery(databaseError('23505', 'duplicate key value violates unique constraint')),
      failedQuery(databaseError('22P02', 'invalid input syntax for type uuid')),
      databaseError('42P01', 'relation "tasks" does not exist'),
      databaseError('57014', 'canceling statement due to statement timeout'),
      new Error('boom'),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      // Only pg's errors are read: another client's (fetch here) may wrap one of its own.
      new TypeError('fetch failed', { cause: socketError('ECONNREFUSED') }),
      new ValidationError('invalid task: name is required'),
      'a string',
      undefined,
    ];
    for (const error of errors) assert.equal(unavailableDependency(error), undefined, String(error));
  });
});

describe('the HTTP answer while a dependency is away', () => {
  const lines: Array<Record<string, unknown>> = [];
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  let server: Awaited<ReturnType<typeof listen>>;
  let baseUrl: string;

  before(async () => {
    const app = express();
    app.get('/postgres', () => {
      throw failedQuery(socketError('ECONNREFUSED'));
    });
    app.get('/secret', () => {
      throw new DrizzleQueryError(
        'insert into "tasks" ("file") values ($1)',
        ['SECRET-WASM-BYTES'],
        socketError('ECONNRESET'),
      );
    });
    app.get('/queue', () => {
      throw new UnavailableError('the task queue is unavailable; the task was not started, try again');
    });
    app.get('/bug', () => {
      throw new Error('boom');
    });
    app.use(errorHandler(pino({ level: 'info' }, output)));
    server = await listen(app, '127.0.0.1', 0);
    baseUrl = `http://127.0.0.1:${boundPort(server)}`;
  });

  after(() => closeServer(server));

  const get = async (path: string) => {
    lines.length = 0;
    const response = await fetch(`${baseUrl}${path}`);
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: await response.json(),
    };
  };

  it('is 503 with Retry-After naming the dependency, logged once at warn without the query parameters', async () => {
    assert.deepEqual(await get('/postgres'), {
      status: 503,
      retryAfter: '5',
      body: { error: 'postgres is unavailable; try again' },
    });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 40);
    assert.equal(lines[0]!.dependency, 'postgres');
    assert.equal(lines[0]!.reason, 'connect ECONNREFUSED 127.0.0.1:5432');

    assert.equal((await get('/secret')).status, 503);
    assert.equal(lines.length, 1);
    assert.doesNotMatch(JSON.stringify(lines), /SECRET/);
  });

  it('keeps the message of a use case that found a dependency away, with Retry-After', async () => {
    assert.deepEqual(await get('/queue'), {
      status: 503,
      retryAfter: '5',
      body: { error: 'the task queue is unavailable; the task was not started, try again' },
    });
  });

  it('leaves other failures as they were: 500, no Retry-After', async () => {
    assert.deepEqual(await get('/bug'), { status: 500, retryAfter: null, body: { error: 'internal error' } });
    assert.equal(lines[0]!.level, 50);
  });
});
