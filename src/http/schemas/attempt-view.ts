import type { TaskAttempt } from '../../domain/task-attempt.ts';

/** One run as GET /tasks/{id}/attempts shows it; a run still going has no finished_at. */
export function toAttemptJson(attempt: TaskAttempt): Record<string, unknown> {
  return {
    attempt: attempt.attempt,
    proplet_id: attempt.propletId,
    started_at: attempt.startedAt.toISOString(),
    finished_at: attempt.finishedAt?.toISOString(),
    outcome: attempt.outcome,
    error: attempt.error ?? undefined,
  };
}
