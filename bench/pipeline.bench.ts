/**
 * End-to-end throughput and latency of the core path: POST /tasks, POST /tasks/{id}/start, scheduler, MQTT
 * start, a simulated proplet answering at once, ingress, results worker, task Completed in Postgres.
 *
 * The manager runs as `npm start` does (every role, one process of its own) against the local Postgres,
 * Redis and Mosquitto; this process is the HTTP load and the proplets. Prints one JSON document.
 *
 *   node --import tsx bench/pipeline.bench.ts [tasks=2000] [concurrency=32] [proplets=4]
 *
 * BENCH_MANAGER_NODE_ARGS adds node options to the manager, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
 * BENCH_EVENTS=1 follows GET /events during the run (as an open dashboard does), which makes every task
 * change recorded in the event log, and counts the task events received.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig } from '../src/config/config.ts';
import { discardIngressSessions } from '../test/support/manager-harness.ts';
import { deleteKeysWithPrefix } from '../test/support/redis-cleanup.ts';
import { SimulatedProplet } from '../test/support/simulated-proplet.ts';
import { testEnvironment } from '../test/support/test-config.ts';
import { createTestDatabase, TEST_REDIS_URL } from '../test/support/test-database.ts';
import { waitFor } from '../test/support/wait.ts';
import { freePort } from '../test/support/free-port.ts';
import { processUsage, spawnManager } from './manager-process.ts';

const [taskCount = 2000, concurrency = 32, propletCount = 4] = process.argv.slice(2).map(Number);
const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Statements Postgres committed in one database, and commands Redis processed (all clients). */
async function serverCounters(
  pool: pg.Pool,
  redis: Redis,
  database: string,
): Promise<{ pgCommits: number; redisCommands: number }> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1',
    [database],
  );
  const info = await redis.info('stats');
  return {
    pgCommits: Number(rows[0]!.n),
    redisCommands: Number(/total_commands_processed:(\d+)/.exec(info)![1]),
  };
}

/** Reads GET /events as a client would, counting task events, until closed. */
async function followEvents(baseUrl: string): Promise<{ count(): number; close(): void }> {
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}/events`, { signal: abort.signal });
  let count = 0;
  let ready!: () => void;
  const live = new Promise<void>((resolve) => (ready = resolve));
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body!) {
        const text = decoder.decode(chunk as Uint8Array, { stream: true });
        count += text.split('event: task\n').length - 1;
        if (text.includes('event: ready')) ready();
      }
    } catch {
      // Closed.
    }
  })();
  await live;
  return { count: () => count, close: () => abort.abort() };
}

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const env = testEnvironment(database, {
    MANAGER_HTTP_PORT: String(await freePort()),
    MANAGER_PROPLET_ALIVE_TIMEOUT: '10s',
    MANAGER_LOG_LEVEL: 'warn',
  });
  const manager = spawnManager(env);
  const baseUrl = `http://127.0.0.1:${env.MANAGER_HTTP_PORT}`;
  const received = new Map<string, number>();
  const proplets = Array.from(
    { length: propletCount },
    () =>
      new SimulatedProplet(
        { tenantId: env.MANAGER_TENANT_ID!, channelId: env.MANAGER_CHANNEL_ID! },
        (start) => {
          received.set(start.id, performance.now());
          return { results: '3' };
        },
        undefined,
        1_000,
      ),
  );
  const pool = new pg.Pool({ ...database.connection, database: database.name, max: 2 });
  // The benchmark measures the deployment with real services, Redis included.
  const redis = new Redis(TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    await waitFor(async () => (await fetch(`${baseUrl}/health`)).ok, 'manager up', 30_000);
    for (const proplet of proplets) await proplet.start();
    await waitFor(async () => {
      const list = (await (await fetch(`${baseUrl}/proplets?status=active`)).json()) as { total: number };
      return list.total === propletCount;
    }, 'proplets alive');

    const post = async (path: string, body?: unknown) => {
      const response = await fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      if (!response.ok) throw new Error(`${path} answered ${response.status}`);
      return (await response.json()) as { id: string };
    };
    const events = process.env.BENCH_EVENTS === '1' ? await followEvents(baseUrl) : undefined;
    const startedAt = new Map<string, number>();
    const usageBefore = processUsage(manager.pid!);
    const countersBefore = await serverCounters(pool, redis, database.name);
    const began = performance.now();
    let issued = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (issued < taskCount) {
          issued++;
          const { id } = await post('/tasks', { name: 'add', file: WASM, inputs: [1, 2] });
          startedAt.set(id, performance.now());
          await post(`/tasks/${id}/start`);
        }
      }),
    );
    const submitted = performance.now();
    await waitFor(
      async () => {
        const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM tasks WHERE state = 3');
        return Number(rows[0]!.n) === taskCount;
      },
      'all tasks completed',
      300_000,
    );
    const finished = performance.now();
    const usageAfter = processUsage(manager.pid!);
    const countersAfter = await serverCounters(pool, redis, database.name);

    const toProplet = [...startedAt].map(([id, at]) => received.get(id)! - at).sort((a, b) => a - b);
    const seconds = (finished - began) / 1000;
    console.log(
      JSON.stringify(
        {
          tasks: taskCount,
          concurrency,
          proplets: propletCount,
          createAndStartPerSecond: Math.round(taskCount / ((submitted - began) / 1000)),
          completedPerSecond: Math.round(taskCount / seconds),
          startRequestToProplet: {
            p50ms: +percentile(toProplet, 50).toFixed(1),
            p99ms: +percentile(toProplet, 99).toFixed(1),
          },
          // Postgres: includes the benchmark's own polling of the task count. Redis: counts the commands
          // inside BullMQ's Lua scripts one by one.
          perTask: {
            postgresCommits: +((countersAfter.pgCommits - countersBefore.pgCommits) / taskCount).toFixed(1),
            redisCommands: +(
              (countersAfter.redisCommands - countersBefore.redisCommands) /
              taskCount
            ).toFixed(1),
          },
          ...(events ? { taskEventsReceived: events.count() } : {}),
          manager: {
            cpuMsPerTask: +(((usageAfter.cpuSeconds - usageBefore.cpuSeconds) / taskCount) * 1000).toFixed(2),
            cpuCoresUsed: +((usageAfter.cpuSeconds - usageBefore.cpuSeconds) / seconds).toFixed(2),
            rssMiB: usageAfter.rssMiB,
          },
        },
        null,
        2,
      ),
    );
    events?.close();
  } finally {
    await Promise.all(proplets.map((proplet) => proplet.stop()));
    manager.kill('SIGTERM');
    await once(manager, 'exit');
    await pool.end();
    await redis.quit();
    await database.drop();
    await discardIngressSessions(loadConfig(env, '/nonexistent'));
    await deleteKeysWithPrefix(env.MANAGER_QUEUE_PREFIX!);
  }
}

await main();
