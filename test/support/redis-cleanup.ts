import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from './test-database.ts';

/** Deletes every key a test wrote under its own prefix. */
export async function deleteKeysWithPrefix(prefix: string): Promise<void> {
  if (TEST_REDIS_URL === undefined) return; // no Redis: nothing was written to one
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${prefix.replace(/[[\]*?]/g, '\\$&')}*`,
        'COUNT',
        1000,
      );
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
