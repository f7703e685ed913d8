import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/config.ts';

/** A command on the requests' connection unanswered this long: Redis counts as unavailable. */
const REQUEST_COMMAND_TIMEOUT_MS = 3_000;

/**
 * A password travels in the URL (redis://:password@host, or user:password@ with Redis ACLs) and rediss://
 * means TLS, which ioredis verifies against the system's CAs unless the configuration names the CA.
 */
function serverOptions(redis: Config['redis']): RedisOptions {
  return redis.tlsCa === undefined ? {} : { tls: { ca: redis.tlsCa } };
}

/**
 * One connection per process for queue producers, workers' commands and the liveness store. BullMQ needs
 * `maxRetriesPerRequest: null` so that a Redis restart pauses work instead of failing it.
 */
export function connectRedis(server: Config['redis']): Redis {
  const redis = new Redis(server.url, {
    ...serverOptions(server),
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
  });
  // Connection errors are retried by ioredis; without a listener they would be thrown as unhandled events.
  redis.on('error', () => undefined);
  return redis;
}

/**
 * The connection of work a client waits for (the api's producers and stores). Pausing until Redis returns
 * would hang the request, so a command fails instead: one waiting for the connection fails when the next
 * connection attempt does (attempts at most a second apart, each given up after two), one in flight when
 * the connection drops fails with it, one unanswered fails after REQUEST_COMMAND_TIMEOUT_MS. The connection
 * keeps reconnecting, so requests succeed again once Redis is back. Never give it to a BullMQ worker:
 * workers need the connection above.
 */
export function connectRedisForRequests(server: Config['redis']): Redis {
  const redis = new Redis(server.url, {
    ...serverOptions(server),
    maxRetriesPerRequest: 0,
    commandTimeout: REQUEST_COMMAND_TIMEOUT_MS,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    enableReadyCheck: true,
    lazyConnect: false,
  });
  redis.on('error', () => undefined);
  return redis;
}
