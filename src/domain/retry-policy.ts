/** The most retries a task may ask for (and MANAGER_TASK_MAX_RETRIES may set). */
export const MAX_RETRIES = 100;

/** Why a run ended without a result the task keeps: the failures a retry may cure. */
export type RetryCause = 'proplet_lost' | 'timed_out' | 'failed';

/**
 * May a run that ended this way be tried again? Lost proplets and timeouts are the infrastructure's fault
 * and always may; an error the Wasm itself reported is final unless the task asks for retries on error.
 * Retries remain while fewer than max_retries were spent.
 */
export function mayRetry(
  task: { retries: number; maxRetries: number | null; retryOnError: boolean; broadcast: boolean },
  cause: RetryCause,
  defaultMaxRetries: number,
): boolean {
  // A broadcast run is many runs, one per proplet, each reporting for itself: it is not run again as a whole.
  if (task.broadcast) return false;
  if (cause === 'failed' && !task.retryOnError) return false;
  return task.retries < (task.maxRetries ?? defaultMaxRetries);
}

/**
 * The wait before retry number `retry` (1 for the first): exponential from `baseMs`, capped at `maxMs`, and
 * spread over its upper half by `jitter` (0–1) so that the runs of a lost proplet do not all return at once.
 */
export function retryDelayMs(retry: number, baseMs: number, maxMs: number, jitter = Math.random()): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(exponential * (0.5 + 0.5 * Math.min(1, Math.max(0, jitter))));
}
