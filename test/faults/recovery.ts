import { describeAttempts, type Evidence, type TaskRow } from './evidence.ts';
import { FAULT_KINDS, type FaultKind, type FaultRecord } from './faults.ts';

const COMPLETED = 3;

export interface FaultRecovery {
  kind: FaultKind;
  target: string;
  /** Seconds since the suite began. */
  atS: number;
  /** How long what was killed stayed away (until restarted, or ready again). */
  downMs?: number;
  /**
   * Until the system had again carried a task all the way: the first completion, applied in Postgres, of a
   * task dispatched after the fault began. For a proplet, until the last of the runs it took down was
   * completed elsewhere.
   */
  recoveredMs?: number;
  /** Service faults: until /health passed again on both apis. */
  healthBackMs?: number;
  lostRuns?: number;
  /** Proplet kills: how each run it took down went on, to explain a long recovery. */
  lostRunHistories?: string[];
}

export interface KindSummary {
  count: number;
  recoveredMaxMs?: number;
  recoveredMedianMs?: number;
  healthBackMaxMs?: number;
  healthBackMedianMs?: number;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
}

const max = (values: number[]) => (values.length === 0 ? undefined : Math.max(...values));

/** How long the system took to recover from each fault, from the tasks' dispatch and finish times. */
export function measureRecovery(
  faults: readonly FaultRecord[],
  evidence: Evidence,
  suiteStartedAt: number,
): { faults: FaultRecovery[]; byKind: Partial<Record<FaultKind, KindSummary>> } {
  // A result received while Postgres was down is applied once it is back, with the time it was received.
  const appliedAt = (task: TaskRow) => task.appliedAt ?? task.finishTime;
  const completions = [...evidence.tasks.values()]
    .filter((task) => task.state === COMPLETED && task.startTime !== null && appliedAt(task) !== null)
    .map((task) => ({ startTime: task.startTime!, appliedAt: appliedAt(task)! }))
    .sort((a, b) => a.appliedAt - b.appliedAt);

  const firstCarriedAfter = (at: number) => completions.find((task) => task.startTime >= at)?.appliedAt;

  const measured = faults.map((fault): FaultRecovery => {
    let recoveredAt: number | undefined;
    if (fault.kind === 'proplet' && fault.lostRuns && fault.lostRuns.length > 0) {
      const finishes = fault.lostRuns.flatMap((id) => {
        const task = evidence.tasks.get(id);
        const applied = task ? appliedAt(task) : null;
        return task?.state === COMPLETED && applied !== null ? [applied] : [];
      });
      // Unmeasured when a lost run never completed: the checks report that task.
      recoveredAt = finishes.length === fault.lostRuns.length ? Math.max(...finishes) : undefined;
    } else recoveredAt = firstCarriedAfter(fault.at);
    return {
      kind: fault.kind,
      target: fault.target,
      atS: Math.round((fault.at - suiteStartedAt) / 100) / 10,
      downMs: fault.backAt === undefined ? undefined : fault.backAt - fault.at,
      recoveredMs: recoveredAt === undefined ? undefined : Math.max(0, recoveredAt - fault.at),
      healthBackMs: fault.healthBackAt === undefined ? undefined : fault.healthBackAt - fault.at,
      lostRuns: fault.lostRuns?.length,
      lostRunHistories: fault.lostRuns?.map((id) => `${id}: ${describeAttempts(evidence, id)}`),
    };
  });

  const byKind: Partial<Record<FaultKind, KindSummary>> = {};
  for (const kind of FAULT_KINDS) {
    const ofKind = measured.filter((fault) => fault.kind === kind);
    if (ofKind.length === 0) continue;
    const recovered = ofKind.flatMap((fault) => (fault.recoveredMs === undefined ? [] : [fault.recoveredMs]));
    const health = ofKind.flatMap((fault) => (fault.healthBackMs === undefined ? [] : [fault.healthBackMs]));
    byKind[kind] = {
      count: ofKind.length,
      recoveredMaxMs: max(recovered),
      recoveredMedianMs: median(recovered),
      healthBackMaxMs: max(health),
      healthBackMedianMs: median(health),
    };
  }
  return { faults: measured, byKind };
}
