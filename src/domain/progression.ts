import { topologicalOrder } from './dag.ts';
import { isTerminal, TaskState } from './task-state.ts';

export const EXECUTION_MODES = ['parallel', 'sequential', 'configurable'] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

/** A task of a workflow or job, in the list order it was created with. */
export interface GroupTask {
  id: string;
  state: TaskState;
  dependsOn: readonly string[] | null;
  runIf: string | null;
}

export interface Group {
  tasks: readonly GroupTask[];
  /** How a job runs its tasks; a workflow follows its dependencies, as a parallel job does. */
  mode: ExecutionMode;
  /** Jobs fail fast: once one of their tasks failed, the rest is stopped or skipped. Workflows do not. */
  failFast: boolean;
}

export interface Progress {
  /** Pending tasks whose dependencies are done and whose condition holds. */
  start: string[];
  /** Pending tasks that will never run: their condition cannot hold, or the job failed. */
  skip: string[];
  /** Scheduled or running tasks of a job that failed. */
  stop: string[];
}

const failed = (state: TaskState) => state === TaskState.Failed || state === TaskState.Interrupted;

/** Dependency order among the tasks there are: a dependency on a deleted task does not hold anyone back. */
function orderOf(tasks: readonly GroupTask[]): GroupTask[] {
  const ids = new Set(tasks.map((task) => task.id));
  const present = tasks.map((task) => ({
    ...task,
    dependsOn: (task.dependsOn ?? []).filter((parent) => ids.has(parent)),
  }));
  const original = new Map(tasks.map((task) => [task.id, task]));
  return topologicalOrder(present).map((task) => original.get(task.id)!);
}

/** A failure handler runs because something failed, so fail-fast leaves it alone. */
const handlesFailure = (task: GroupTask) => task.runIf === 'failure';

/**
 * The tasks each one waits for. In a sequential job a task also waits for the one before it (in dependency
 * order, list order among equals), and a task without dependencies takes that one as its parent, so that
 * `run_if` means "if the previous task succeeded / failed".
 */
function parentsIn(order: readonly GroupTask[], mode: ExecutionMode) {
  return order.map((task, index) => {
    const explicit = task.dependsOn ?? [];
    const previous = mode === 'sequential' && index > 0 ? [order[index - 1]!.id] : [];
    return {
      task,
      waitsFor: [...new Set([...explicit, ...previous])],
      parents: explicit.length > 0 ? explicit : previous,
    };
  });
}

/**
 * What to do next in a workflow or job, given the states of all its tasks: pure, so that however many
 * workers evaluate the same group, and however often, they reach the same decisions. Tasks that wait for
 * nothing are not started here: the client starts them (workflows) or the job's start does.
 *
 * A task runs when everything it waits for is finished and its condition holds: `run_if: success` (the
 * default) needs every parent Completed, `run_if: failure` at least one parent Failed. Otherwise it is
 * Skipped, and since a Skipped parent is not a Completed one, its descendants are skipped with it in the
 * same evaluation (upstream leaves them Pending).
 */
export function decideProgress(group: Group): Progress {
  const progress: Progress = { start: [], skip: [], stop: [] };
  const state = new Map<string, TaskState>(group.tasks.map((task) => [task.id, task.state]));
  // A parent deleted since is finished for good, and not Completed: its dependents are skipped.
  for (const task of group.tasks)
    for (const parent of task.dependsOn ?? []) if (!state.has(parent)) state.set(parent, TaskState.Skipped);
  const jobFailed = group.failFast && group.tasks.some((task) => failed(task.state));

  if (jobFailed) {
    for (const task of group.tasks) {
      if (handlesFailure(task)) continue;
      if (task.state === TaskState.Pending) {
        progress.skip.push(task.id);
        state.set(task.id, TaskState.Skipped);
      } else if (task.state === TaskState.Scheduled || task.state === TaskState.Running) {
        progress.stop.push(task.id);
      }
    }
  }

  for (const { task, waitsFor, parents } of parentsIn(orderOf(group.tasks), group.mode)) {
    if (state.get(task.id) !== TaskState.Pending || waitsFor.length === 0) continue;
    if (!waitsFor.every((id) => isTerminal(state.get(id) ?? TaskState.Pending))) continue;
    const parentStates = parents.map((id) => state.get(id)!);
    const conditionHolds = handlesFailure(task)
      ? parentStates.some(failed)
      : parentStates.every((parentState) => parentState === TaskState.Completed);
    if (conditionHolds) {
      progress.start.push(task.id);
      state.set(task.id, TaskState.Scheduled);
    } else {
      progress.skip.push(task.id);
      state.set(task.id, TaskState.Skipped);
    }
  }
  return progress;
}

/** The tasks a job's start runs first: those that wait for nothing (in a sequential job, the first one). */
export function entryTasks(group: Pick<Group, 'tasks' | 'mode'>): string[] {
  return parentsIn(orderOf(group.tasks), group.mode)
    .filter(({ waitsFor }) => waitsFor.length === 0)
    .map(({ task }) => task.id);
}
