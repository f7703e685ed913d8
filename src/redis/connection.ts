import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/config.ts';
import { withoutPassword } from '../embedded/stand-ins.ts';
import { tlsFailure } from '../tls-failure.ts';

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

/** Redis's answers to a login it refuses: a wrong user or password, none where it needs one, one where it has none. */
const LOGIN_REFUSED = /^(WRONGPASS|NOAUTH|ERR AUTH|ERR invalid password)/;

/**
 * Connects once and PINGs. A Redis that refuses the login, or whose certificate does not verify, ends
 * start-up saying so: the workers' connection would retry forever, and start-up wait for it, with nothing
 * but warnings in the log. One that does not answer at all may be on its way, and is left to the retries
 * as before. The message names Redis without the password its URL may carry.
 */
export async function checkRedisLogin(server: Config['redis'], timeoutMs: number): Promise<void> {
  const probe = new Redis(server.url, {
    ...serverOptions(server),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  let failure: Error | undefined;
  probe.on('error', (error: Error) => (failure ??= error));
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    // The event's error says why; connect()'s only that the connection closed.
    const why = failure ?? (error as Error);
    const reason = LOGIN_REFUSED.test(why.message) ? why.message : tlsFailure(why);
    if (reason !== undefined)
      throw new Error(`Redis at ${withoutPassword(server.url)} refused the connection: ${reason}`, {
        cause: error,
      });
  } finally {
    probe.disconnect();
  }
}
