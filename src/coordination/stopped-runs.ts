/**
 * Runs stopped on a proplet that will still report on them. A stopped run yields one more result from its
 * proplet (its completion if it had finished, otherwise "Task was cancelled or panicked"), and upstream
 * proplets do not say which run a result belongs to. Without this mark, a task stopped and started again on
 * the same proplet would take the old run's report for the new run's. Marks are kept per proplet, so a
 * proplet that restarts (and so will report nothing more) has its marks cleared at once, and they expire
 * after MARK_TTL_MS.
 */
export interface StoppedRuns {
  mark(taskId: string, propletId: string): Promise<void>;
  unmark(taskId: string, propletId: string): Promise<void>;
  /** True (once) when a result from this proplet for this task is the report of a stopped run. */
  consume(taskId: string, propletId: string): Promise<boolean>;
  /** The proplet started afresh: it will report on none of its earlier runs. */
  forgetProplet(propletId: string): Promise<void>;
}

/** Long enough for any proplet to report a cancelled run; short enough that a lost report is forgotten. */
export const MARK_TTL_MS = 600_000;
