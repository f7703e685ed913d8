import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import pg from 'pg';
import { TEST_MQTT_URL, TEST_POSTGRES, TEST_REDIS_URL } from '../../test/support/test-database.ts';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  postgres: string;
  redis: string;
  mosquitto: string;
  /** Which broker the run used and its tuning (see bench/private-broker.ts). */
  broker: string;
  /** 1, 5 and 15 minute load averages when the run began: other work on the machine skews every figure. */
  loadAverage: number[];
}

export interface GitState {
  commit: string;
  /** Uncommitted changes to tracked files: the figures are then not exactly those of the commit. */
  dirty: boolean;
}

const unknown = (error: unknown) => `unknown (${error instanceof Error ? error.message : String(error)})`;

async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ ...TEST_POSTGRES, database: 'postgres' });
  await client.connect();
  try {
    return (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  } finally {
    await client.end();
  }
}

async function redisVersion(): Promise<string> {
  const redis = new Redis(TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    return /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

/** Mosquitto publishes its version, retained, on $SYS/broker/version. */
async function brokerVersion(): Promise<string> {
  const client = await mqtt.connectAsync(TEST_MQTT_URL, {
    clientId: `bench-version-${randomUUID()}`,
    reconnectPeriod: 0,
  });
  try {
    const version = new Promise<string>((resolve) => {
      client.on('message', (_topic, payload) => resolve(payload.toString()));
      setTimeout(() => resolve('unknown (no $SYS/broker/version)'), 2_000).unref();
    });
    await client.subscribeAsync('$SYS/broker/version');
    return await version;
  } finally {
    await client.endAsync();
  }
}

export async function describeMachine(): Promise<Machine> {
  const [postgres, redis, mosquitto] = await Promise.all([
    postgresVersion().catch(unknown),
    redisVersion().catch(unknown),
    brokerVersion().catch(unknown),
  ]);
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres,
    redis,
    mosquitto,
    broker: process.env.BENCH_BROKER_SETTINGS
      ? `a Mosquitto of its own with the shipped ${process.env.BENCH_BROKER_SETTINGS}`
      : `the broker at ${TEST_MQTT_URL}`,
    loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

export function gitState(root: string): GitState {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  try {
    return {
      commit: git('rev-parse', 'HEAD'),
      dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}
