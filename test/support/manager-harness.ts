import type { Config } from '../../src/config/config.ts';
import { startManager, type RunningManager } from '../../src/manager.ts';
import { createLogger, type Logger } from '../../src/observability/logger.ts';
import mqtt from 'mqtt';
import { Redis } from 'ioredis';
import { clientOptions, ingressClientId } from '../../src/mqtt/client.ts';
import { RedisIngressSlots } from '../../src/redis/ingress-slots.ts';
import { deleteKeysWithPrefix } from './redis-cleanup.ts';
import { TEST_REDIS_URL } from './test-database.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { testConfig } from './test-config.ts';
import { waitFor } from './wait.ts';

export interface TestManager {
  config: Config;
  manager: RunningManager;
  baseUrl: string;
  /** Stops the manager, drops its database and deletes its Redis keys. */
  close(): Promise<void>;
}

/**
 * The whole manager, every role in this process, against the real Postgres, Redis and Mosquitto. When it
 * cannot start, its database is dropped and the reason thrown. `logger`: where its log goes (a test that
 * reads it), instead of stdout at MANAGER_LOG_LEVEL. `database`: one of the test's own (a private Postgres),
 * dropped as the one made here would be.
 */
export async function startTestManager(
  env: Record<string, string> = {},
  { logger, database: given }: { logger?: Logger; database?: TestDatabase } = {},
): Promise<TestManager> {
  const database = given ?? (await createTestDatabase());
  let config: Config;
  let manager: RunningManager;
  try {
    config = testConfig(database, env);
    manager = await startManager(config, logger ?? createLogger(config.logLevel));
  } catch (error) {
    await database.drop();
    throw error;
  }
  return {
    config,
    manager,
    baseUrl: `${config.http.tls ? 'https' : 'http'}://127.0.0.1:${manager.apiPort ?? 0}`,
    close: async () => {
      // Read from the manager's own store (Redis or Postgres) while it is open.
      const slots = await manager.resources.ingressSlots(1).used();
      await manager.stop();
      await database.drop();
      await discardIngressSessions(manager.config, slots);
      await deleteKeysWithPrefix(config.queuePrefix);
    },
  };
}

/**
 * The ingress keeps persistent sessions in the broker, on purpose; a test's would outlive it. Connecting once
 * with a clean start under each client id its slots used discards them. Call before deleting its Redis keys,
 * and while that broker still runs.
 */
export async function discardIngressSessions(config: Config, slots?: number[]): Promise<void> {
  for (const slot of slots ?? (await slotsEverUsed(config))) {
    // The broker the manager used, which need not be the shared test broker, with the manager's login.
    const settings = { ...config.mqtt, instanceId: config.instanceId };
    const client = await mqtt.connectAsync(config.mqtt.url, {
      ...clientOptions(settings, ingressClientId(config.mqtt.entityId, slot)),
      clean: true,
      reconnectPeriod: 0,
    });
    await client.endAsync();
  }
}

/** Slots recorded in Redis; without a Redis (the slots were in a dropped database), the first few. */
async function slotsEverUsed(config: Config): Promise<number[]> {
  if (TEST_REDIS_URL === undefined) return Array.from({ length: 4 }, (_, slot) => slot);
  const redis = new Redis(TEST_REDIS_URL);
  try {
    return await new RedisIngressSlots(redis, config.queuePrefix, 1).used();
  } finally {
    await redis.quit();
  }
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
}

/** A JSON request as upstream clients send it. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

/** Waits until the api reports the proplet alive: its discovery and a heartbeat have been applied. */
export async function untilPropletAlive(
  baseUrl: string,
  propletId: string,
  timeoutMs?: number,
): Promise<void> {
  await waitFor(
    async () => (await request(baseUrl, 'GET', `/proplets/${propletId}`)).body?.alive === true,
    `proplet ${propletId} alive`,
    timeoutMs,
  );
}
