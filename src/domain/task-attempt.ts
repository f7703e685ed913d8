/** How one run of a task ended, as GET /tasks/{id}/attempts shows it. */
export const AttemptOutcome = {
  /** Dispatched, no report yet. */
  Running: 'running',
  Completed: 'completed',
  /** The Wasm reported an error. */
  Failed: 'failed',
  /** It outlived the task's timeout and was stopped. */
  TimedOut: 'timed_out',
  /** Its proplet was declared dead before reporting. */
  PropletLost: 'proplet_lost',
  /** Stopped by a user, or its task deleted. */
  Stopped: 'stopped',
} as const;

export type AttemptOutcome = (typeof AttemptOutcome)[keyof typeof AttemptOutcome];

/** One run of a task on one proplet (a broadcast run has one per proplet). */
export interface TaskAttempt {
  attempt: number;
  propletId: string;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: AttemptOutcome;
  error: string | null;
}
