import { Redis } from 'ioredis';

/**
 * One connection per process for queue producers, workers' commands and the liveness store. BullMQ needs
 * `maxRetriesPerRequest: null` so that a Redis restart pauses work instead of failing it.
 */
export function connectRedis(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
  // Connection errors are retried by ioredis; without a listener they would be thrown as unhandled events.
  redis.on('error', () => undefined);
  return redis;
}
