import { groupOf } from '../domain/group.ts';
import { queuePriority } from '../domain/task-priority.ts';
import type { FinishedTask } from '../db/task-repository.ts';
import type { Logger } from '../observability/logger.ts';
import { jobIds, type JobData } from '../queue/catalog.ts';
import type { EnqueueOptions, JobQueues } from '../queue/job-queues.ts';

/**
 * The start job of a task just moved to Scheduled: ahead of lower-priority ones (a delayed start keeps its
 * priority when promoted), or `delayMs` later (a retry's backoff); the job id makes a second one for the same
 * attempt a no-op. One builder for single and batched starts, so both queue exactly the same job.
 */
export function startJob(
  task: { id: string; attempt: number; priority: number },
  requestedAt: Date,
  { delayMs = 0 }: { delayMs?: number } = {},
): { name: 'start'; data: JobData<'task-start', 'start'>; options: EnqueueOptions } {
  return {
    name: 'start',
    data: { taskId: task.id, attempt: task.attempt, requestedAt: requestedAt.getTime() },
    options: {
      jobId: jobIds.start(task.id, task.attempt),
      priority: queuePriority(task.priority),
      ...(delayMs > 0 ? { delay: Math.ceil(delayMs) } : {}),
    },
  };
}

/** Queues the start of a task just moved to Scheduled (see startJob). */
export async function queueStart(
  queues: JobQueues,
  task: { id: string; attempt: number; priority: number },
  requestedAt: Date,
  options: { delayMs?: number } = {},
): Promise<void> {
  const job = startJob(task, requestedAt, options);
  await queues.enqueue('task-start', job.name, job.data, job.options);
}

/**
 * A task has just reached a terminal state: its workflow or job may go on. Evaluating a group is idempotent,
 * so a needless evaluation costs one query and a lost one is made up by the next task that finishes there.
 */
export async function queueAdvance(queues: JobQueues, task: FinishedTask | undefined): Promise<void> {
  const group = task && groupOf(task);
  if (group) await queues.enqueue('group-progress', 'advance', { group: group.kind, id: group.id });
}

/** queueAdvance where the transition already stands and a failure to queue must not undo the caller's work. */
export async function queueAdvanceOrWarn(
  queues: JobQueues,
  task: FinishedTask | undefined,
  logger: Logger,
): Promise<void> {
  await queueAdvance(queues, task).catch((error: unknown) =>
    logger.warn({ taskId: task?.id, err: error }, 'could not queue the progress of its workflow or job'),
  );
}
