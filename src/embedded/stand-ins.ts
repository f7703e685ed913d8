import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { startEmbeddedBroker } from './mqtt-broker.ts';
import { startEmbeddedPostgres } from './postgres.ts';
import { startEmbeddedRedis } from './redis-server.ts';

/** What serves one dependency, said for people: the start-up banner prints it. */
export interface DependencyInUse {
  embedded: boolean;
  description: string;
}

export interface StandIns {
  /** The configuration with the stand-ins' real addresses in place of the placeholders. */
  config: Config;
  inUse: { postgres: DependencyInUse; queues: DependencyInUse; broker: DependencyInUse };
  close(): Promise<void>;
}

/** A URL as it may be shown: without its password, in the user part or in the query. */
export function withoutPassword(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text; // a unix socket path
  }
  if (url.password) url.password = '***';
  for (const key of [...url.searchParams.keys()])
    if (/pass|secret|token/i.test(key)) url.searchParams.set(key, '***');
  return url.toString();
}

/** The ingress alone needs Postgres only where coordination state lives there. */
export function usesPostgres(config: Config): boolean {
  return config.queueStore === 'postgres' || [...config.roles].some((role) => role !== 'ingress');
}

/**
 * Starts a stand-in for each dependency the environment did not name (config.standIns): PGlite for
 * Postgres, aedes for the broker, a private redis-server for Redis. A configured service is always used
 * as it is. Stand-ins live in this process, so they suit a first run or a single-process deployment; they
 * close when the manager stops.
 */
export async function startStandIns(config: Config, logger: Logger): Promise<StandIns> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne().catch(() => undefined);
  };
  // Shallow: each part a stand-in replaces is replaced whole.
  const resolved: Config = { ...config };
  const log = logger.child({ role: 'stand-ins' });

  try {
    const { broker, redis } = config.standIns;
    const postgres = config.standIns.postgres && usesPostgres(config);
    if (postgres || redis) {
      const lock = await lockDataDir(config.dataDir);
      closers.push(() => lock.release());
    }
    if (postgres) {
      const embedded = await startEmbeddedPostgres(config.dataDir, log);
      closers.push(() => embedded.close());
      resolved.postgres = {
        ...config.postgres,
        host: embedded.host,
        port: embedded.port,
        database: embedded.database,
        user: 'postgres',
        password: '',
        sslmode: 'disable',
        sharedSession: true,
      };
    }
    if (redis) {
      if (!config.redis.serverBinary) throw new Error('no redis-server to start');
      const embedded = await startEmbeddedRedis(config.redis.serverBinary, config.dataDir, log);
      closers.push(() => embedded.close());
      resolved.redis = { ...config.redis, url: embedded.socketPath };
    }
    if (broker) {
      const embedded = await startEmbeddedBroker(log, {});
      closers.push(() => embedded.close());
      resolved.mqtt = { ...config.mqtt, url: embedded.url, protocolVersion: 4 };
    }
  } catch (error) {
    await close();
    throw error;
  }

  const pg = resolved.postgres;
  return {
    config: resolved,
    inUse: {
      postgres: config.standIns.postgres
        ? { embedded: true, description: `PGlite, data in ${config.dataDir}/pglite` }
        : { embedded: false, description: `Postgres at ${pg.host}:${pg.port}/${pg.database}` },
      queues:
        config.queueStore === 'postgres'
          ? { embedded: config.standIns.postgres, description: 'in Postgres (BullMQ Postgres backend)' }
          : config.standIns.redis
            ? {
                embedded: true,
                description: `private ${config.redis.serverBinary} on ${resolved.redis.url}, data in ${config.dataDir}/redis`,
              }
            : { embedded: false, description: `Redis at ${withoutPassword(resolved.redis.url)}` },
      broker: config.standIns.broker
        ? { embedded: true, description: `aedes on ${resolved.mqtt.url} (MQTT 3.1.1)` }
        : { embedded: false, description: `MQTT broker at ${withoutPassword(resolved.mqtt.url)}` },
    },
    close,
  };
}
