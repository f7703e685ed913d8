import { z } from 'zod';

/** What a proplet answered to one invocation (spec §3.3.8). */
export interface InvocationOutcome {
  results: string;
  /** The proplet's error message; null when the invocation succeeded. */
  error: string | null;
  propletId?: string | undefined;
}

/**
 * Carries invocation answers from the results role, which receives them, to the api process whose request
 * waits for them: they may be different processes. Kept in Redis where there is one (src/redis), in
 * Postgres otherwise (src/db). An answer delivered before its waiter looked is kept for ANSWER_TTL_MS, so it
 * is not lost; one nobody waits for expires.
 */
export interface InvocationMailbox {
  deliver(invocationId: string, outcome: InvocationOutcome): Promise<void>;
  /**
   * The answer to `invocationId`, once it arrives; undefined when `timeoutMs` passes first or `signal`
   * aborts (the client went away).
   */
  wait(invocationId: string, timeoutMs: number, signal?: AbortSignal): Promise<InvocationOutcome | undefined>;
  /** Releases what waiting needed (a subscriber connection, a poll timer); pending waits end undefined. */
  close(): Promise<void>;
}

/** Longer than any invoke timeout worth configuring; short enough that unclaimed answers do not pile up. */
export const ANSWER_TTL_MS = 5 * 60_000;

/** An answer as the stores keep it: read back from Redis or Postgres, so parsed again. */
export const invocationOutcome = z.object({
  results: z.string(),
  error: z.string().nullable(),
  propletId: z.string().optional(),
});
