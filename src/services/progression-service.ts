import type { GroupRepository } from '../db/group-repository.ts';
import { ConflictError } from '../domain/errors.ts';
import type { GroupRef } from '../domain/group.ts';
import { decideProgress, type ExecutionMode } from '../domain/progression.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import { queueStart } from './task-queueing.ts';
import { startProblem, type TaskService } from './task-service.ts';

/** Groups evaluated per sweep; the next sweep takes the rest. */
const SWEEP_BATCH = 200;

/**
 * Moves workflows and jobs on after one of their tasks finished: starts the tasks whose turn has come,
 * skips those whose condition cannot hold, and stops the rest of a job that failed (spec §2.6, §2.7).
 */
export class ProgressionService {
  constructor(
    private readonly groups: GroupRepository,
    private readonly tasks: TaskService,
    private readonly queues: JobQueues,
    private readonly defaultMode: ExecutionMode,
  ) {}

  /**
   * Queues the evaluation of groups that wait with nothing under way, so that a progress lost between a
   * task's end and its queueing (the queue was away) is made up within one sweep.
   */
  async sweep(logger: Logger): Promise<void> {
    const stalled = await this.groups.stalledGroups(SWEEP_BATCH);
    for (const group of stalled)
      await this.queues.enqueue('group-progress', 'advance', { group: group.kind, id: group.id });
    if (stalled.length > 0) logger.debug({ groups: stalled.length }, 'stalled groups queued for evaluation');
  }

  async advance(group: GroupRef, logger: Logger): Promise<void> {
    const log = logger.child({ [group.kind === 'job' ? 'jobId' : 'workflowId']: group.id });
    const mode =
      group.kind === 'job'
        ? (((await this.groups.findJob(group.id))?.executionMode as ExecutionMode | undefined) ??
          this.defaultMode)
        : 'parallel';
    const { outcome } = await this.groups.change(group, (current) => {
      const progress = decideProgress({ tasks: current, mode, failFast: group.kind === 'job' });
      // A task that cannot be started (no Wasm yet, say) fails now rather than being sent to be dropped.
      const refused = current
        .filter((task) => progress.start.includes(task.id))
        .flatMap((task) => {
          const problem = startProblem(task);
          return problem ? [{ id: task.id, error: `not started: ${problem}` }] : [];
        });
      const start = progress.start.filter((id) => !refused.some((task) => task.id === id));
      return {
        changes: { schedule: start, skip: progress.skip, fail: refused },
        outcome: { ...progress, start, refused },
      };
    });

    // Every Scheduled task of the group, not only those just scheduled: a start queued by an earlier run of
    // this job that failed halfway would otherwise be missing. Queuing one that exists is a no-op.
    const now = new Date();
    for (const task of await this.groups.scheduledIn(group)) await queueStart(this.queues, task, now);
    for (const id of outcome.stop) {
      await this.tasks.stop(id).catch((error: unknown) => {
        // It finished meanwhile: nothing left to stop.
        if (!(error instanceof ConflictError)) throw error;
      });
    }
    if (outcome.refused.length > 0) {
      // Their failure is news to their dependents, as any other task's would be.
      await this.queues.enqueue('group-progress', 'advance', { group: group.kind, id: group.id });
    }
    if (outcome.start.length + outcome.skip.length + outcome.stop.length + outcome.refused.length > 0)
      log.info(
        {
          started: outcome.start,
          skipped: outcome.skip,
          stopped: outcome.stop,
          refused: outcome.refused.map((task) => task.id),
        },
        `${group.kind} advanced`,
      );
  }
}
