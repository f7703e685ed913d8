import type { Job } from 'bullmq';
import type { Logger } from '../observability/logger.ts';
import { queueJobDuration, queueJobsProcessed } from '../observability/metrics.ts';

/**
 * How one run of a job ended: completed; delayed (put back to wait without spending an attempt, e.g. a
 * start waiting for a live proplet); retried (failed, and will run again); failed (for good).
 */
export type JobOutcome = 'completed' | 'delayed' | 'retried' | 'failed';

/**
 * Jobs that run all the time and mean little one by one (batches of heartbeats and samples, periodic
 * sweeps): their lines are debug, so that info stays readable. Their failures are logged like any other.
 */
const ROUTINE = new Set([
  'proplet-liveness/heartbeats',
  'proplet-liveness/sweep',
  'metrics/samples',
  'metrics/prune',
  'maintenance/reconcile',
  'group-progress/sweep',
]);

/** The ids a job's data carries, for its log line: the task, its run, the proplet, the invocation, the group. */
function subjectOf(data: unknown): Record<string, unknown> {
  if (data === null || typeof data !== 'object') return {};
  const { taskId, attempt, propletId, invocationId, group, id } = data as Record<string, unknown>;
  return {
    ...(typeof taskId === 'string' ? { taskId } : {}),
    ...(typeof attempt === 'number' ? { attempt } : {}),
    ...(typeof propletId === 'string' ? { propletId } : {}),
    ...(typeof invocationId === 'string' ? { invocationId } : {}),
    ...(typeof group === 'string' && typeof id === 'string' ? { group, groupId: id } : {}),
  };
}

/**
 * Counts one run of a job and logs one line for it: queue (from the logger), job name and id, the job's
 * attempt, the ids in its data (never the data itself: it may hold Wasm or inputs), outcome and duration.
 */
export function reportJob(
  logger: Logger,
  queue: string,
  job: Pick<Job, 'id' | 'name' | 'attemptsMade' | 'data'>,
  outcome: JobOutcome,
  /** Undefined when this process did not run it (a job that stalled for good). */
  durationMs: number | undefined,
  error?: unknown,
): void {
  queueJobsProcessed.inc({ queue, job: job.name, outcome });
  if (durationMs !== undefined) queueJobDuration.observe({ queue, job: job.name }, durationMs / 1000);
  const fields = {
    job: job.name,
    jobId: job.id,
    // Runs of this job so far, this one included (a delayed run does not spend an attempt).
    jobAttempt: job.attemptsMade + 1,
    ...subjectOf(job.data),
    outcome,
    ...(durationMs === undefined ? {} : { durationMs: Math.round(durationMs * 1000) / 1000 }),
    ...(error === undefined ? {} : { err: error }),
  };
  switch (outcome) {
    case 'failed':
      logger.error(fields, 'job failed for good');
      return;
    case 'retried':
      logger.warn(fields, 'job attempt failed; will retry');
      return;
    case 'delayed':
      logger.debug(fields, 'job delayed');
      return;
    case 'completed':
      if (ROUTINE.has(`${queue}/${job.name}`)) logger.debug(fields, 'job completed');
      else logger.info(fields, 'job completed');
  }
}
