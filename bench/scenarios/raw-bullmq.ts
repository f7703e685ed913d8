import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../../test/support/redis-cleanup.ts';
import { TEST_REDIS_URL, uniqueSuffix } from '../../test/support/test-database.ts';
import { ratePerSecond } from '../lib/stats.ts';
import type { Scenario } from '../lib/scenario.ts';

const BATCH = 1_000;
const CONCURRENCY = 100;

/**
 * The machine's limit for the queue the manager's path runs through: jobs added in bulk batches while a
 * worker (high concurrency, no work per job) takes them, with no manager at all.
 */
export const rawBullmq: Scenario = {
  name: 'raw-bullmq',
  summary: `BullMQ alone: addBulk in batches of ${BATCH} while one Worker (concurrency ${CONCURRENCY}) processes empty jobs`,
  async run(context) {
    const jobs = context.size(100_000, 5_000);
    const prefix = `{bench-raw-${uniqueSuffix()}}`;
    const url = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const connection = () => new Redis(url, { maxRetriesPerRequest: null });
    const queueConnection = connection();
    const workerConnection = connection();
    const queue = new Queue('raw', { connection: queueConnection, prefix });
    context.defer(async () => {
      await queue.close();
      queueConnection.disconnect();
      workerConnection.disconnect();
      await deleteKeysWithPrefix(prefix);
    });
    let processed = 0;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const began = performance.now();
    const worker = new Worker(
      'raw',
      () => {
        if (++processed === jobs) allDone();
        return Promise.resolve();
      },
      { connection: workerConnection, prefix, concurrency: CONCURRENCY, removeOnComplete: { count: 0 } },
    );
    context.defer(() => worker.close());
    for (let added = 0; added < jobs; added += BATCH) {
      const size = Math.min(BATCH, jobs - added);
      await queue.addBulk(Array.from({ length: size }, (_, i) => ({ name: 'job', data: { n: added + i } })));
    }
    const addedAt = performance.now();
    const timeout = setTimeout(allDone, 120_000);
    await done;
    clearTimeout(timeout);
    const finished = performance.now();
    return {
      figures: [
        {
          key: 'jobsPerSecond',
          label: 'add+process jobs/s',
          value: ratePerSecond(processed, finished - began),
          unit: 'jobs/s',
        },
      ],
      failures: processed < jobs ? [`${jobs - processed} of ${jobs} jobs not processed within 120 s`] : [],
      notes: [`${jobs} jobs, one Queue and one Worker connection, removeOnComplete`],
      details: {
        jobs,
        batch: BATCH,
        concurrency: CONCURRENCY,
        addPerSecond: ratePerSecond(jobs, addedAt - began),
        seconds: Math.round(finished - began) / 1000,
      },
    };
  },
};
