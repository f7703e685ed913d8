import type { LivenessStore } from '../coordination/liveness-store.ts';
import type { ReconcileQueries } from '../db/reconcile-queries.ts';
import type { Logger } from '../observability/logger.ts';
import { jobIds } from '../queue/catalog.ts';
import type { JobQueues } from '../queue/job-queues.ts';
import type { LostBroadcastShares } from './lost-broadcast-shares.ts';
import type { RunRecovery } from './run-recovery.ts';
import { queueStart } from './task-queueing.ts';
import type { TaskService } from './task-service.ts';

/** Tasks looked at per kind and round: a backlog is worked off over several rounds, never all at once. */
const BATCH = 500;

export interface ReconcileSettings {
  aliveTimeoutMs: number;
  /** MANAGER_TASK_TIMEOUT, for tasks that set no timeout. */
  taskTimeoutMs: number | undefined;
  /** How long a disagreement must last before it is repaired, so work under way is never taken for lost. */
  graceMs: number;
}

export interface ReconcileReport {
  requeued: number;
  lostRuns: number;
  lostShares: number;
  expired: number;
}

/**
 * The backstop that lets no task stay stuck for ever, run periodically by one scheduler at a time: it looks
 * for tasks whose state disagrees with the queues or with liveness (a start job lost with a Redis that lost
 * data, a proplet's death whose handling failed, an expiry job lost) and repairs them through the same
 * conditional transitions as the normal path, so repairing what was not broken changes nothing.
 */
export class Reconciler {
  /**
   * Proplets this process found without any liveness record, and when: a store that lost its data (a Redis
   * without persistence, restarted) forgets live proplets too, and they are given a whole alive timeout to
   * beat again before their runs count as lost.
   */
  private readonly unknownSince = new Map<string, number>();

  constructor(
    private readonly queries: ReconcileQueries,
    private readonly liveness: LivenessStore,
    private readonly queues: JobQueues,
    private readonly tasks: TaskService,
    private readonly recovery: RunRecovery,
    private readonly lostShares: LostBroadcastShares,
    private readonly settings: ReconcileSettings,
  ) {}

  async run(logger: Logger): Promise<ReconcileReport> {
    const report = {
      requeued: await this.requeueLostStarts(logger),
      ...(await this.recoverLostRuns(logger)),
      expired: await this.expireOverdue(logger),
    };
    const repaired = Object.values(report).some((count) => count > 0);
    if (repaired) logger.warn(report, 'reconciler repaired tasks');
    else logger.debug('reconciler found nothing to repair');
    return report;
  }

  /** Scheduled tasks with no start job that will run: queued again, keeping when their start was asked for. */
  private async requeueLostStarts(logger: Logger): Promise<number> {
    const cutoff = new Date(Date.now() - this.settings.graceMs);
    let requeued = 0;
    for (const task of await this.queries.scheduledBefore(cutoff, BATCH)) {
      const jobId = jobIds.start(task.id, task.attempt);
      if (await this.queues.isPending('task-start', jobId)) continue;
      // The list may be seconds old by now (a backlog takes a while to go through), and the task dispatched
      // since, its job completed. A dispatch moves the task before it completes its job, so the task read
      // after the job tells a lost start from one that has just run; queued again, the latter would be
      // published a second time and run twice on its proplet.
      if (!(await this.queries.isScheduled(task.id, task.attempt))) continue;
      // A finished job keeps its id: it must go before the same id can be queued again.
      await this.queues.remove('task-start', jobId);
      await queueStart(this.queues, task, task.scheduledAt);
      logger.warn(
        { taskId: task.id, attempt: task.attempt },
        'scheduled task had no start job: queued again',
      );
      requeued++;
    }
    return requeued;
  }

  /** Runs on proplets that are dead (or unknown for a whole alive timeout): retried, or failed. */
  private async recoverLostRuns(logger: Logger): Promise<{ lostRuns: number; lostShares: number }> {
    const now = Date.now();
    const cutoff = new Date(now - this.settings.aliveTimeoutMs);
    const alive = await this.liveness.aliveIds(now);
    const runs = await this.queries.runningElsewhere(alive, cutoff, BATCH);
    const shares = await this.queries.broadcastSharesElsewhere(alive, cutoff, BATCH);
    const holders = [...new Set([...runs, ...shares].map((run) => run.propletId))];
    const lost = await this.lostOf(holders, now);
    let lostRuns = 0;
    for (const propletId of lost) {
      const before = runs.filter((run) => run.propletId === propletId).length;
      await this.recovery.propletLost(propletId, now, logger);
      lostRuns += before;
    }
    let lostShares = 0;
    for (const propletId of new Set(shares.map((share) => share.propletId))) {
      if (!lost.includes(propletId)) continue;
      await this.lostShares.propletLost(propletId, now, logger);
      lostShares += shares.filter((share) => share.propletId === propletId).length;
    }
    return { lostRuns, lostShares };
  }

  /** Of proplets not alive, those to count as lost: known dead, or unknown for a whole alive timeout. */
  private async lostOf(propletIds: string[], now: number): Promise<string[]> {
    if (propletIds.length === 0) {
      this.unknownSince.clear();
      return [];
    }
    const beats = await this.liveness.lastBeats(propletIds);
    const lost: string[] = [];
    for (const id of propletIds) {
      if (beats.has(id)) {
        this.unknownSince.delete(id);
        lost.push(id);
        continue;
      }
      const since = this.unknownSince.get(id) ?? now;
      this.unknownSince.set(id, since);
      if (now - since >= this.settings.aliveTimeoutMs) lost.push(id);
    }
    for (const id of this.unknownSince.keys()) if (!propletIds.includes(id)) this.unknownSince.delete(id);
    return lost;
  }

  /** Runs past their time limit whose expiry job was lost: expired now (retried or failed). */
  private async expireOverdue(logger: Logger): Promise<number> {
    const overdue = await this.queries.overdue(
      new Date(),
      this.settings.graceMs,
      this.settings.taskTimeoutMs,
      BATCH,
    );
    let expired = 0;
    for (const run of overdue) {
      if (await this.tasks.expire(run.id, run.attempt, run.limitMs)) expired++;
      else logger.debug({ taskId: run.id }, 'overdue run had moved on');
    }
    return expired;
  }
}
