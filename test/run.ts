import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import pg from 'pg';
import { findExecutable } from '../src/config/find-executable.ts';
import { startEmbeddedBroker } from '../src/embedded/mqtt-broker.ts';
import { startEmbeddedPostgres } from '../src/embedded/postgres.ts';
import { createLogger } from '../src/observability/logger.ts';
import { freePort } from './support/free-port.ts';
import { TEST_MQTT_URL, TEST_POSTGRES, TEST_REDIS_URL } from './support/test-database.ts';

/**
 * `npm test`: every test file, against the local Postgres, Redis and Mosquitto where they answer (as in
 * CI), and against the manager's own stand-ins where they do not, so the suite also passes on a machine
 * with nothing but Node.js. What it uses is announced to the test files through TEST_* variables.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SUITES = ['test/unit', 'test/integration', 'test/e2e'];
const logger = createLogger('warn');
/**
 * Test files run side by side: most of their time is spent waiting (for heartbeats, timeouts, processes),
 * so three at once on two cores take about half as long as one at a time. Each has its own database,
 * Redis prefix and MQTT tenant, so they do not meet.
 */
const CONCURRENCY = Number(process.env.TEST_CONCURRENCY ?? 3);

/** Far beyond the slowest test (a few minutes on a loaded machine), short of a run's whole budget. */
const TEST_TIMEOUT_MS = 5 * 60_000;
const say = (line: string) => process.stdout.write(`tests: ${line}\n`);

async function answers(probe: () => Promise<unknown>): Promise<boolean> {
  try {
    await Promise.race([probe(), sleep(3_000).then(() => Promise.reject(new Error('no answer')))]);
    return true;
  } catch {
    return false;
  }
}

const postgresAnswers = () =>
  answers(async () => {
    const client = new pg.Client({ ...TEST_POSTGRES, database: 'postgres', connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => undefined);
    }
  });

const redisAnswers = (url: string) =>
  answers(async () => {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
  });

const mqtt5Answers = () =>
  answers(async () => {
    const client = await mqtt.connectAsync(TEST_MQTT_URL, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 2_000,
    });
    await client.endAsync();
  });

async function testFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const suite of SUITES)
    for (const name of (await readdir(join(ROOT, suite))).sort())
      if (name.endsWith('.test.ts')) files.push(`${suite}/${name}`);
  return files;
}

/** `node --import tsx test/run.ts [file…]` runs just those files. */
async function main(chosen: string[]): Promise<number> {
  const env: Record<string, string> = {};
  const closers: Array<() => Promise<void>> = [];
  try {
    if (await postgresAnswers()) say(`Postgres at ${TEST_POSTGRES.host}:${TEST_POSTGRES.port}`);
    else {
      // One PGlite initialised here; each test database is a copy of it, which boots in under a second.
      const template = await mkdtemp(join(tmpdir(), 'propeller-test-template-'));
      closers.push(() => rm(template, { recursive: true, force: true }));
      await (await startEmbeddedPostgres(template, logger)).close();
      env.TEST_PGLITE_TEMPLATE = template;
      say('no Postgres answers: each test database is a PGlite of its own');
    }

    if (TEST_REDIS_URL !== undefined && (await redisAnswers(TEST_REDIS_URL)))
      say(`Redis at ${TEST_REDIS_URL}`);
    else {
      const server = ['valkey-server', 'redis-server']
        .map((name) => findExecutable(name, process.env.PATH))
        .find(Boolean);
      if (server) {
        const port = await freePort();
        const child = spawn(
          server,
          ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
          {
            stdio: 'ignore',
          },
        );
        closers.push(() => stopChild(child));
        env.TEST_REDIS_URL = `redis://127.0.0.1:${port}`;
        for (let i = 0; i < 100 && !(await redisAnswers(env.TEST_REDIS_URL)); i++) await sleep(50);
        say(`no Redis answers: a private ${server} on port ${port}`);
      } else {
        env.TEST_REDIS_URL = 'none';
        say('no Redis answers and none is installed: managers under test keep their queues in Postgres');
      }
    }

    if (await mqtt5Answers()) say(`MQTT 5 broker at ${TEST_MQTT_URL}`);
    else {
      const broker = await startEmbeddedBroker(logger, { preferredPort: 0 });
      closers.push(() => broker.close());
      env.TEST_MQTT_URL = broker.url;
      env.TEST_MQTT_PROTOCOL_VERSION = '4';
      say(`no MQTT 5 broker answers: the embedded aedes (MQTT 3.1.1) on ${broker.url}`);
    }

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './test/support/assert-messages.mjs',
        '--test',
        `--test-concurrency=${CONCURRENCY}`,
        // A test that hangs fails with its name after this long instead of holding the run up for good.
        `--test-timeout=${TEST_TIMEOUT_MS}`,
        '--test-reporter=spec',
        ...(chosen.length > 0 ? chosen : await testFiles()),
      ],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'inherit' },
    );
    const stop = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const code = await new Promise<number | null>((resolve) =>
      child.once('exit', (exitCode) => resolve(exitCode)),
    );
    return code ?? 1;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tests: could not run: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
