import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { findExecutable } from '../../src/config/find-executable.ts';
import { startManager, type RunningManager } from '../../src/manager.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { freePort } from '../support/free-port.ts';
import { discardIngressSessions } from '../support/manager-harness.ts';
import { deleteKeysWithPrefix } from '../support/redis-cleanup.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { testConfig } from '../support/test-config.ts';
import { createTestDatabase, TEST_MQTT_URL, type TestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

/**
 * One manager (every role) whose Postgres and broker are reached through proxies the test cuts, and whose
 * Redis is a private redis-server the test kills: while one is away, the requests that need it answer 503
 * naming it within 5 s and change nothing, /health says which, and once it is back the same requests
 * succeed, without restarting the manager. Without a redis-server on the PATH (a bare machine), the queues
 * are in Postgres or in the shared Redis, and the Redis outage cannot be staged: the rest still runs.
 */
const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
const WITHIN_MS = 5_000;
const POSTGRES_AWAY = 'postgres is unavailable; try again';
const REDIS_AWAY = 'the task queue (redis) is unavailable; try again';
const redisBinary = ['valkey-server', 'redis-server']
  .map((name) => findExecutable(name, process.env.PATH))
  .find(Boolean);

interface PrivateRedis {
  port: number;
  child: ChildProcess;
}

async function startPrivateRedis(binary: string, port: number): Promise<PrivateRedis> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn(binary, args, { stdio: 'ignore' });
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  await waitFor(listening, `${binary} on port ${port}`);
  return { port, child };
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

let database: TestDatabase;
let postgres: TcpProxy;
let broker: TcpProxy;
let redis: PrivateRedis | undefined;
let manager: RunningManager;
let baseUrl: string;
const uncaught: unknown[] = [];
const recordUncaught = (error: unknown) => uncaught.push(error);

interface Answer {
  status: number;
  retryAfter: string | null;
  body: any;
  ms: number;
}

/** A request that gives up after 15 s, so that one which hangs fails the test instead of holding it. */
async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const started = Date.now();
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: text === '' ? undefined : JSON.parse(text),
    ms: Date.now() - started,
  };
}

async function expectUnavailable(
  method: string,
  path: string,
  body: unknown,
  error: string | RegExp,
): Promise<void> {
  const answer = await call(method, path, body);
  const what = `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)} in ${answer.ms} ms`;
  assert.equal(answer.status, 503, what);
  assert.ok(answer.ms < WITHIN_MS, what);
  assert.equal(answer.retryAfter, '5', what);
  if (typeof error === 'string') assert.equal(answer.body.error, error, what);
  else assert.match(answer.body.error, error, what);
}

async function health(): Promise<{ status: number; checks: Record<string, string>; ms: number }> {
  const answer = await call('GET', '/health');
  return { status: answer.status, checks: answer.body.checks, ms: answer.ms };
}

/** /health names exactly `failing` as failing, within its own time limit. */
async function expectHealthFailing(failing: string): Promise<void> {
  const report = await health();
  assert.equal(report.status, 503, JSON.stringify(report));
  assert.ok(report.ms < WITHIN_MS, JSON.stringify(report));
  for (const [name, status] of Object.entries(report.checks))
    assert.equal(status, name === failing ? 'fail' : 'pass', JSON.stringify(report.checks));
  assert.ok(failing in report.checks, JSON.stringify(report.checks));
}

async function waitHealthy(what: string): Promise<void> {
  await waitFor(async () => (await health()).status === 200, `health after ${what}`, 15_000);
}

async function createTask(extra: Record<string, unknown> = {}): Promise<{ id: string; attempt: number }> {
  const created = await call('POST', '/tasks', { name: 'add', file: WASM, ...extra });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body;
}

async function taskCount(): Promise<number> {
  const listed = await call('GET', '/tasks?limit=1');
  assert.equal(listed.status, 200);
  return listed.body.total;
}

before(async () => {
  process.on('uncaughtException', recordUncaught);
  process.on('unhandledRejection', recordUncaught);
  database = await createTestDatabase();
  postgres = await startTcpProxy(database.connection);
  const brokerUrl = new URL(TEST_MQTT_URL);
  broker = await startTcpProxy({ host: brokerUrl.hostname, port: Number(brokerUrl.port || 1883) });
  if (redisBinary) redis = await startPrivateRedis(redisBinary, await freePort());
  const config = testConfig(database, {
    MANAGER_POSTGRES_HOST: '127.0.0.1',
    MANAGER_POSTGRES_PORT: String(postgres.port),
    MANAGER_MQTT_ADDRESS: `mqtt://127.0.0.1:${broker.port}`,
    ...(redis ? { MANAGER_REDIS_URL: `redis://127.0.0.1:${redis.port}` } : {}),
  });
  manager = await startManager(config, createLogger(config.logLevel));
  baseUrl = `http://127.0.0.1:${manager.apiPort ?? 0}`;
});

after(async () => {
  try {
    // Read from the manager's own store while it is open; a test that failed may have left it away.
    const slots = await manager.resources
      .ingressSlots(1)
      .used()
      .catch(() => undefined);
    await manager.stop();
    await database.drop();
    await discardIngressSessions(manager.config, slots);
    if (!redis) await deleteKeysWithPrefix(manager.config.queuePrefix);
  } finally {
    if (redis) await stopChild(redis.child);
    await broker.close();
    await postgres.close();
    process.off('uncaughtException', recordUncaught);
    process.off('unhandledRejection', recordUncaught);
  }
});

describe('while Postgres is away', () => {
  it('refusing connections: every task route answers 503 naming it, and nothing changes', async () => {
    const task = await createTask();
    const total = await taskCount();

    await postgres.cut();
    await expectUnavailable('GET', '/tasks', undefined, POSTGRES_AWAY);
    await expectUnavailable('POST', '/tasks', { name: 'add', file: WASM }, POSTGRES_AWAY);
    await expectUnavailable('GET', `/tasks/${task.id}`, undefined, POSTGRES_AWAY);
    await expectUnavailable('POST', `/tasks/${task.id}/start`, undefined, POSTGRES_AWAY);
    await expectUnavailable('POST', '/workflows', { tasks: [{ name: 'a', file: WASM }] }, POSTGRES_AWAY);
    await expectUnavailable('GET', '/proplets', undefined, POSTGRES_AWAY);
    await expectHealthFailing('postgres');

    await postgres.restore();
    await waitHealthy('Postgres came back');
    assert.equal(await taskCount(), total);
    const unchanged = await call('GET', `/tasks/${task.id}`);
    assert.equal(unchanged.body.state, 0);
    assert.equal(unchanged.body.attempt, task.attempt);
    assert.deepEqual((await call('POST', `/tasks/${task.id}/start`)).body, { started: true });
    assert.equal((await call('POST', '/tasks', { name: 'add', file: WASM })).status, 201);
  });

  it('resetting connections mid-query: 503, and the pool gets every client back', async () => {
    const total = await taskCount();
    postgres.setMode('stall');
    // A workflow is created in a transaction: its BEGIN is what the reset interrupts.
    const answers = Promise.all([
      expectUnavailable('POST', '/workflows', { tasks: [{ name: 'a', file: WASM }] }, POSTGRES_AWAY),
      expectUnavailable('GET', '/tasks', undefined, POSTGRES_AWAY),
    ]);
    await sleep(300);
    await postgres.cut('reset');
    await answers;

    await postgres.restore();
    await waitHealthy('Postgres came back');
    const { pool } = manager.resources.postgres;
    await waitFor(() => pool.totalCount === pool.idleCount, 'no client kept out of the pool');
    assert.equal(await taskCount(), total);
    assert.equal((await call('POST', '/workflows', { tasks: [{ name: 'a', file: WASM }] })).status, 201);
  });

  it('starting up (57P03): 503 naming it until it accepts connections', async () => {
    const task = await createTask();
    await postgres.cut();
    await postgres.restore('starting-up');
    await expectUnavailable('GET', '/tasks', undefined, POSTGRES_AWAY);
    await expectUnavailable('POST', `/tasks/${task.id}/start`, undefined, POSTGRES_AWAY);
    await expectHealthFailing('postgres');

    postgres.setMode('pass');
    await waitHealthy('Postgres accepted connections');
    assert.deepEqual((await call('POST', `/tasks/${task.id}/start`)).body, { started: true });
  });
});

if (redisBinary) {
  describe('while Redis is away', () => {
    it('killed: what needs the queue answers 503 naming it, the rest is served, nothing changes', async () => {
      const task = await createTask();
      // A finished task started again while the queue is away stays as it was, results and all.
      const finished = await createTask();
      await manager.resources.postgres.db.execute(
        sql`UPDATE tasks SET state = 3, results = '"5"', finish_time = now() WHERE id = ${finished.id}`,
      );
      const before = (await call('GET', `/tasks/${finished.id}`)).body;

      const total = await taskCount();

      await stopChild(redis!.child, 'SIGKILL');
      await expectUnavailable('POST', `/tasks/${task.id}/start`, undefined, /task queue is unavailable/);
      await expectUnavailable('POST', `/tasks/${finished.id}/start`, undefined, /task queue is unavailable/);
      assert.deepEqual((await call('GET', `/tasks/${finished.id}`)).body, before);
      await expectUnavailable(
        'POST',
        '/tasks',
        { name: 'cron', file: WASM, schedule: '0 7 * * *' },
        /task queue is unavailable/,
      );
      await expectUnavailable('GET', '/proplets', undefined, REDIS_AWAY);
      await expectHealthFailing('redis');
      // Creating and listing tasks needs Postgres only.
      assert.equal((await call('GET', `/tasks/${task.id}`)).body.state, 0);
      assert.equal(await taskCount(), total);
      assert.equal((await call('POST', '/tasks', { name: 'add', file: WASM })).status, 201);

      redis = await startPrivateRedis(redisBinary, redis!.port);
      await waitHealthy('Redis came back');
      assert.deepEqual((await call('POST', `/tasks/${task.id}/start`)).body, { started: true });
      assert.equal((await call('GET', '/proplets')).status, 200);
      assert.equal(
        (await call('POST', '/tasks', { name: 'cron', file: WASM, schedule: '0 7 * * *' })).status,
        201,
      );
    });

    it('not answering (stopped): 503 naming it within the command timeout', async () => {
      const task = await createTask();
      redis!.child.kill('SIGSTOP');
      try {
        await expectUnavailable('GET', '/proplets', undefined, REDIS_AWAY);
        await expectUnavailable('POST', `/tasks/${task.id}/start`, undefined, /task queue is unavailable/);
        await expectHealthFailing('redis');
      } finally {
        redis!.child.kill('SIGCONT');
      }
      await waitHealthy('Redis answered again');
      assert.deepEqual((await call('POST', `/tasks/${task.id}/start`)).body, { started: true });
    });
  });
}

describe('while the broker is away', () => {
  it('/health names mqtt; the API, which never publishes, keeps serving', async () => {
    await broker.cut();
    await waitFor(async () => (await health()).status === 503, 'health to notice the broker left');
    await expectHealthFailing('mqtt');
    const task = await createTask();
    assert.deepEqual((await call('POST', `/tasks/${task.id}/start`)).body, { started: true });

    await broker.restore();
    await waitHealthy('the broker came back');
  });
});

describe('through every outage', () => {
  it('the process saw no uncaught exception and no unhandled rejection', () => {
    assert.deepEqual(uncaught, []);
  });
});
