import { describeAttempts, type Evidence, type TaskRow } from './evidence.ts';
import type { LoadFigures } from './load.ts';
import { expectedResult } from './proplet-log.ts';

const COMPLETED = 3;
const FAILED = 4;
const NON_TERMINAL = new Set([0, 1, 2]);
const STATE_NAMES = ['Pending', 'Scheduled', 'Running', 'Completed', 'Failed', 'Skipped', 'Interrupted'];
/** A failure the suite accepts: the task spent its retries (the error says so). */
const RETRY_BUDGET_SPENT = /no retries left/i;
const EXAMPLES = 10;

export interface Check {
  name: string;
  passed: boolean;
  /** What failed (or, for an observation, what was seen), the first few. */
  details: string[];
  /** An observation reports without failing the run. */
  observation?: boolean;
}

export interface Outcome {
  checks: Check[];
  counts: {
    tasks: number;
    taskRows: number;
    completed: number;
    failed: number;
    lost: number;
    stuck: number;
    duplicateCreates: number;
    duplicateResultsPublished: number;
    lateDuplicateResultsPublished: number;
    /** Tasks run more than once (more than one task_attempts row). */
    redispatchedTasks: number;
    /** Runs beyond the first, over all tasks (task_attempts rows). */
    redispatches: number;
    maxAttempt: number;
    /** From the proplet logs: tasks started on more than one proplet, and starts beyond each task's first. */
    tasksOnSeveralProplets: number;
    extraStartsLogged: number;
    /**
     * Runs no attempt accounts for: a proplet started the task more often than it has task_attempts rows
     * (a start published again for the same attempt). Legitimate after a dispatch cut short, but each one is
     * the task's work done twice.
     */
    runsBeyondAttempts: number;
  };
  failedTasks: Array<{ id: string; error: string | null; attempts: string }>;
}

function check(name: string, problems: string[], observation = false): Check {
  return {
    name,
    passed: problems.length === 0,
    details: problems
      .slice(0, EXAMPLES)
      .concat(problems.length > EXAMPLES ? [`… ${problems.length - EXAMPLES} more`] : []),
    observation,
  };
}

function describeTask(task: TaskRow, evidence: Evidence): string {
  return `${task.id} ${STATE_NAMES[task.state] ?? task.state} attempt ${task.attempt} retries ${task.retries} proplet ${task.propletId ?? '-'}${task.error ? ` error "${task.error}"` : ''}; attempts: ${describeAttempts(evidence, task.id)}`;
}

/** The invariants of the issue, from the database and the proplets' logs, and the figures around them. */
export function runChecks(
  load: LoadFigures,
  evidence: Evidence,
  harness: { skippedFaults: readonly string[]; crashes: readonly string[] },
): Outcome {
  const { tasks } = evidence;
  const suiteTasks = [...tasks.values()].filter((task) => task.loadId !== null);
  const inputsOf = new Map(
    load.items.flatMap((item) => item.taskIds.map((id) => [id, item.inputs] as const)),
  );

  const published = new Map<string, Set<string>>();
  /** When each proplet logged a result for each task: `${task} ${proplet}` → times. */
  const reportedAt = new Map<string, number[]>();
  const startedOn = new Map<string, Set<string>>();
  let starts = 0;
  const startCount = new Map<string, number>();
  let duplicates = 0;
  let late = 0;
  for (const event of evidence.events) {
    if (event.event === 'result') {
      const values = published.get(event.task) ?? new Set();
      values.add(event.results);
      published.set(event.task, values);
      const key = `${event.task} ${event.proplet}`;
      reportedAt.set(key, [...(reportedAt.get(key) ?? []), event.at]);
      if (event.copy >= 2) duplicates++;
      if (event.copy >= 3) late++;
    } else if (event.event === 'start') {
      starts++;
      startCount.set(event.task, (startCount.get(event.task) ?? 0) + 1);
      const proplets = startedOn.get(event.task) ?? new Set();
      proplets.add(event.proplet);
      startedOn.set(event.task, proplets);
    }
  }

  const noTask = load.items
    .filter((item) => item.taskIds.length === 0)
    .map((item) => `${item.loadId}: no task id`);
  const missing = load.items.flatMap((item) =>
    item.taskIds.filter((id) => !tasks.has(id)).map((id) => `${item.loadId}: task ${id} not in the database`),
  );
  const recorded = new Set(load.items.flatMap((item) => item.taskIds));
  const unknown = suiteTasks
    .filter((task) => !recorded.has(task.id))
    .map((task) => `${describeTask(task, evidence)} (never returned to the client)`);
  const stuck = suiteTasks.filter((task) => NON_TERMINAL.has(task.state));
  const otherStates = suiteTasks.filter(
    (task) => !NON_TERMINAL.has(task.state) && task.state !== COMPLETED && task.state !== FAILED,
  );
  const failed = suiteTasks.filter((task) => task.state === FAILED);
  const completed = suiteTasks.filter((task) => task.state === COMPLETED);

  const wrongResults: string[] = [];
  const unpublished: string[] = [];
  for (const task of completed) {
    const inputs = inputsOf.get(task.id);
    const expected = inputs ? expectedResult(inputs) : undefined;
    if (expected === undefined || task.results !== expected)
      wrongResults.push(
        `${task.id}: results ${JSON.stringify(task.results)}, expected ${JSON.stringify(expected)}`,
      );
    if (!published.get(task.id)?.has(String(task.results)))
      unpublished.push(`${task.id}: no proplet logged publishing ${JSON.stringify(task.results)}`);
  }

  // The run credited with the result must be one its proplet reported: the result is logged before it is
  // published, and the attempt is closed when the ingress received it, so the log line comes first.
  const misattributed: string[] = [];
  for (const task of completed)
    for (const row of evidence.attempts?.get(task.id) ?? [])
      if (
        row.outcome === 'completed' &&
        !(reportedAt.get(`${task.id} ${row.propletId}`) ?? []).some((at) => at <= (row.finishedAt ?? 0) + 50)
      )
        misattributed.push(
          `${describeTask(task, evidence)}: attempt ${row.attempt} completed, but ${row.propletId} logged no result for it`,
        );

  const completedTwice: string[] = [];
  const unclosed: string[] = [];
  let redispatchedTasks = 0;
  let redispatches = 0;
  for (const task of suiteTasks) {
    const rows = evidence.attempts?.get(task.id) ?? [];
    if (rows.filter((row) => row.outcome === 'completed').length > 1)
      completedTwice.push(describeTask(task, evidence));
    if (rows.length > 1) {
      redispatchedTasks++;
      redispatches += rows.length - 1;
    }
    if (!NON_TERMINAL.has(task.state) && rows.some((row) => row.outcome === 'running'))
      unclosed.push(describeTask(task, evidence));
    if (task.state === COMPLETED && rows.length > 0 && !rows.some((row) => row.outcome === 'completed'))
      unclosed.push(`${describeTask(task, evidence)} (Completed, but no attempt completed)`);
  }

  const lostItems = load.items.filter(
    (item) =>
      !item.taskIds.some((id) => {
        const state = tasks.get(id)?.state;
        return state === COMPLETED || state === FAILED;
      }),
  );
  const badFailures = failed.filter((task) => !RETRY_BUDGET_SPENT.test(task.error ?? ''));

  const checks: Check[] = [
    check('every planned fault was injected', [...harness.skippedFaults]),
    check('every submission answered as a fault explains (no unexpected 4xx)', load.anomalies),
    check('every submitted task exists', [...noTask, ...missing]),
    check('no task the client never heard of', unknown),
    check(
      'no task stuck (Pending, Scheduled or Running) at the end',
      stuck.map((task) => describeTask(task, evidence)),
    ),
    check('every task Completed, or Failed having spent its retries', [
      ...otherStates.map((task) => describeTask(task, evidence)),
      ...badFailures.map((task) => describeTask(task, evidence)),
    ]),
    check("each Completed task's results are its inputs' sum", wrongResults),
    check('each Completed result was published by a proplet', unpublished),
    check('the run recorded as completed is one whose proplet reported it', misattributed),
    check(
      evidence.attempts
        ? 'no task completed twice (task_attempts)'
        : 'no task completed twice (task_attempts: no such table)',
      completedTwice,
    ),
    check(
      'attempts of finished tasks are closed, a Completed task has its completed attempt',
      unclosed,
      true,
    ),
  ];

  const attemptsSeen = suiteTasks.map((task) => task.attempt);
  return {
    checks,
    counts: {
      tasks: load.items.length,
      taskRows: suiteTasks.length,
      completed: completed.length,
      failed: failed.length,
      lost: lostItems.length,
      stuck: stuck.length,
      duplicateCreates: load.items.filter((item) => item.taskIds.length > 1).length,
      duplicateResultsPublished: duplicates,
      lateDuplicateResultsPublished: late,
      redispatchedTasks,
      redispatches,
      maxAttempt: attemptsSeen.length > 0 ? Math.max(...attemptsSeen) : 0,
      tasksOnSeveralProplets: [...startedOn.values()].filter((proplets) => proplets.size > 1).length,
      extraStartsLogged: starts - startedOn.size,
      runsBeyondAttempts: evidence.attempts
        ? [...startCount].reduce(
            (sum, [id, count]) => sum + Math.max(0, count - (evidence.attempts?.get(id)?.length ?? 0)),
            0,
          )
        : 0,
    },
    failedTasks: failed.map((task) => ({
      id: task.id,
      error: task.error,
      attempts: describeAttempts(evidence, task.id),
    })),
  };
}
