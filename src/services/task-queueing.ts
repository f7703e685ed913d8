import { groupOf } from '../domain/group.ts';
import { queuePriority } from '../domain/task-priority.ts';
import type { FinishedTask } from '../db/task-repository.ts';
import type { Logger } from '../observability/logger.ts';
import { jobIds } from '../queue/catalog.ts';
import type { JobQueues } from '../queue/job-queues.ts';

/**
 * Queues the start of a task just moved to Scheduled, ahead of lower-priority ones (a delayed start keeps its
 * priority when promoted), or `delayMs` later (a retry's backoff); the job id makes a second call for one
 * attempt a no-op.
 */
export async function queueStart(
  queues: JobQueues,
  task: { id: string; attempt: number; priority: number },
  requestedAt: Date,
  { delayMs = 0 }: { delayMs?: number } = {},
): Promise<void> {
  await queues.enqueue(
    'task-start',
    'start',
    { taskId: task.id, attempt: task.attempt, requestedAt: requestedAt.getTime() },
    {
      jobId: jobIds.start(task.id, task.attempt),
      priority: queuePriority(task.priority),
      ...(delayMs > 0 ? { delay: Math.ceil(delayMs) } : {}),
    },
  );
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
