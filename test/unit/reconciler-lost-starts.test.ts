import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LivenessStore } from '../../src/coordination/liveness-store.ts';
import type { ReconcileQueries } from '../../src/db/reconcile-queries.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { JobQueues } from '../../src/queue/job-queues.ts';
import type { LostBroadcastShares } from '../../src/services/lost-broadcast-shares.ts';
import { Reconciler } from '../../src/services/reconciler.ts';
import type { RunRecovery } from '../../src/services/run-recovery.ts';
import type { TaskService } from '../../src/services/task-service.ts';

const TASK = {
  id: '6f1c2b4e-0d8a-4f7e-9a51-3c2d1e0f9b8a',
  attempt: 1,
  priority: 50,
  scheduledAt: new Date(0),
};

/**
 * A reconciler whose listing of Scheduled tasks names one task whose start job is no longer pending;
 * `stillScheduled` says what reading the task again finds. Returns the starts it queued again.
 */
async function reconcileWith(stillScheduled: boolean): Promise<{ requeued: number; queued: string[] }> {
  const queued: string[] = [];
  const queries = {
    scheduledBefore: () => Promise.resolve([TASK]),
    isScheduled: () => Promise.resolve(stillScheduled),
    runningElsewhere: () => Promise.resolve([]),
    broadcastSharesElsewhere: () => Promise.resolve([]),
    overdue: () => Promise.resolve([]),
  };
  const queues = {
    isPending: () => Promise.resolve(false),
    remove: () => Promise.resolve(true),
    enqueue: (_queue: string, _name: string, data: { taskId: string }) => {
      queued.push(data.taskId);
      return Promise.resolve();
    },
  };
  const liveness = { aliveIds: () => Promise.resolve([]), lastBeats: () => Promise.resolve(new Map()) };
  const reconciler = new Reconciler(
    queries as unknown as ReconcileQueries,
    liveness as unknown as LivenessStore,
    queues as unknown as JobQueues,
    {} as TaskService,
    {} as RunRecovery,
    {} as LostBroadcastShares,
    { aliveTimeoutMs: 3_000, taskTimeoutMs: undefined, graceMs: 5_000 },
  );
  const report = await reconciler.run(createLogger('fatal'));
  return { requeued: report.requeued, queued };
}

describe('reconciler: scheduled tasks without a start job', () => {
  it('queues the start again when the task is still scheduled for that attempt', async () => {
    assert.deepEqual(await reconcileWith(true), { requeued: 1, queued: [TASK.id] });
  });

  it('leaves alone a task dispatched after it was listed (its job completed): it would run twice', async () => {
    assert.deepEqual(await reconcileWith(false), { requeued: 0, queued: [] });
  });
});
