import { DelayedError, UnrecoverableError, type Job, type Worker } from 'bullmq';
import type { Logger } from '../observability/logger.ts';
import { QUEUE_CATALOG, type JobData, type JobName, type QueueName } from './catalog.ts';
import { reportJob } from './job-report.ts';
import { createWorker, type QueueConnection } from './queue-connection.ts';

/** What a handler may ask for instead of completing: run this job again later, without spending an attempt. */
export interface RetryLater {
  retryAfterMs: number;
}

export function retryLater(ms: number): RetryLater {
  return { retryAfterMs: ms };
}

/**
 * A job whose worker died (kill -9) is handed to another worker once its lock lapses and a stall check
 * finds it: within LOCK_MS + STALLED_CHECK_MS (BullMQ's defaults make that a minute). Locks are renewed every
 * LOCK_MS / 2, so only a worker stuck that long loses one, and every handler is idempotent if it does.
 */
const LOCK_MS = 10_000;
const STALLED_CHECK_MS = 5_000;
/** A job may outlive several dead workers (a fault-injection run kills them at random) before it fails. */
const MAX_STALLS = 10;

export interface JobContext {
  id: string;
  logger: Logger;
}

export type JobHandlers<Q extends QueueName> = {
  [N in JobName<Q>]: (data: JobData<Q, N>, context: JobContext) => Promise<void | RetryLater>;
};

export interface QueueWorkerOptions {
  connection: QueueConnection;
  concurrency: number;
  logger: Logger;
}

/**
 * Consumes one queue with one handler per job name. Job data is parsed against the catalog before the
 * handler sees it: data that does not match can never succeed, so it fails at once, unretried.
 */
export function startQueueWorker<Q extends QueueName>(
  queue: Q,
  handlers: JobHandlers<Q>,
  options: QueueWorkerOptions,
): Worker {
  const schemas = QUEUE_CATALOG[queue].jobs as Record<
    string,
    { safeParse(data: unknown): { success: boolean; data?: unknown; error?: unknown } }
  >;
  const logger = options.logger.child({ queue });

  const run = async (job: Job, token?: string): Promise<'completed' | 'delayed'> => {
    const schema = schemas[job.name];
    const handler = (
      handlers as Record<string, (data: unknown, context: JobContext) => Promise<void | RetryLater>>
    )[job.name];
    if (!schema || !handler)
      throw new UnrecoverableError(`no handler for job '${job.name}' on queue '${queue}'`);
    const parsed = schema.safeParse(job.data);
    if (!parsed.success)
      throw new UnrecoverableError(`job data does not match its schema: ${String(parsed.error)}`);
    const context = {
      id: job.id ?? '',
      logger: logger.child({ jobId: job.id, job: job.name }),
    };
    const outcome = await handler(parsed.data, context);
    if (!outcome || !token) return 'completed';
    // Whole milliseconds: BullMQ's Postgres backend stores the time as a bigint.
    await job.moveToDelayed(Date.now() + Math.ceil(outcome.retryAfterMs), token);
    return 'delayed';
  };
  /** Failures this worker has reported already, so that the 'failed' event does not report them again. */
  const reported = new WeakSet<object>();

  const worker = createWorker(
    queue,
    async (job: Job, token?: string) => {
      const started = performance.now();
      let outcome: 'completed' | 'delayed';
      try {
        outcome = await run(job, token);
      } catch (error) {
        // What BullMQ will do with the job, which it decides the same way once this throws.
        const retried =
          !(error instanceof UnrecoverableError) && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
        reportJob(logger, queue, job, retried ? 'retried' : 'failed', performance.now() - started, error);
        if (error !== null && typeof error === 'object') reported.add(error);
        throw error;
      }
      reportJob(logger, queue, job, outcome, performance.now() - started);
      if (outcome === 'delayed') throw new DelayedError();
    },
    options.connection,
    {
      concurrency: options.concurrency,
      lockDuration: LOCK_MS,
      stalledInterval: STALLED_CHECK_MS,
      maxStalledCount: MAX_STALLS,
    },
  );
  // Failures the processor never saw: a job that stalled too often, or was started too many times.
  worker.on('failed', (job, error) => {
    if (reported.has(error)) return;
    if (job) reportJob(logger, queue, job, 'failed', undefined, error);
    else logger.error({ err: error }, 'job failed for good');
  });
  worker.on('error', (error) => logger.error({ err: error }, 'queue worker error'));
  return worker;
}
