/** Numeric task states, as upstream Propeller puts them on the wire. */
export const TaskState = {
  Pending: 0,
  Scheduled: 1,
  Running: 2,
  Completed: 3,
  Failed: 4,
  Skipped: 5,
  Interrupted: 6,
} as const;

export type TaskState = (typeof TaskState)[keyof typeof TaskState];

export const TERMINAL_STATES: readonly TaskState[] = [
  TaskState.Completed,
  TaskState.Failed,
  TaskState.Skipped,
  TaskState.Interrupted,
];

/** States from which `start` may (re)run a task: never run yet, or finished. */
export const STARTABLE_STATES: readonly TaskState[] = [TaskState.Pending, ...TERMINAL_STATES];

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function stateName(state: number): string {
  const entry = Object.entries(TaskState).find(([, value]) => value === state);
  return entry ? entry[0] : 'Unknown';
}

/**
 * Every transition the manager performs. Updates in Postgres are conditional on the `from` states listed
 * here, so two workers racing for one task can never both win.
 */
export const TRANSITIONS = {
  schedule: { from: STARTABLE_STATES, to: TaskState.Scheduled },
  dispatch: { from: [TaskState.Scheduled], to: TaskState.Running },
  complete: { from: [TaskState.Running], to: TaskState.Completed },
  fail: { from: [TaskState.Running], to: TaskState.Failed },
  withdraw: { from: [TaskState.Scheduled], to: TaskState.Failed },
  stop: { from: [TaskState.Running], to: TaskState.Failed },
  giveUpStart: { from: [TaskState.Scheduled], to: TaskState.Failed },
  /** A run lost, timed out or (on request) failed by its Wasm, to be run again as a new attempt. */
  retry: { from: [TaskState.Running], to: TaskState.Scheduled },
  /** A workflow or job task whose turn has come. */
  advance: { from: [TaskState.Pending], to: TaskState.Scheduled },
  /** A workflow or job task that will never run. */
  skip: { from: [TaskState.Pending], to: TaskState.Skipped },
  /** A workflow or job task whose turn came but that cannot be started (no Wasm, say). */
  refuse: { from: [TaskState.Pending], to: TaskState.Failed },
} as const satisfies Record<string, { from: readonly TaskState[]; to: TaskState }>;

export type TransitionName = keyof typeof TRANSITIONS;
