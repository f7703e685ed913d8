import { randomUUID } from 'node:crypto';
import type { InvocationMailbox, InvocationOutcome } from '../coordination/invocation-mailbox.ts';
import type { LivenessStore } from '../coordination/liveness-store.ts';
import type { TaskRepository } from '../db/task-repository.ts';
import {
  BadGatewayError,
  ConflictError,
  GatewayTimeoutError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from '../domain/errors.ts';
import type { Task } from '../domain/task.ts';
import { stateName, TaskState } from '../domain/task-state.ts';
import type { Logger } from '../observability/logger.ts';
import { jobIds } from '../queue/catalog.ts';
import type { JobQueues } from '../queue/job-queues.ts';

/** What upstream proplets say when they lack the module; only this error moves on to the next candidate. */
export const NOT_PRECOMPILED = 'has not been precompiled';

export interface InvokeRequest {
  inputs?: string[] | null | undefined;
  env?: Record<string, string> | null | undefined;
}

/** Go's way of writing a duration, as upstream's timeout message has it: 30s, 1.5s, 500ms. */
export function goDuration(ms: number): string {
  return ms < 1_000 ? `${ms}ms` : `${ms / 1_000}s`;
}

type Attempt = InvocationOutcome | 'timed-out' | 'abandoned';

/**
 * Invocations of latent tasks (spec §8.1), as the api process runs them: it never touches the broker, so
 * each attempt is a job the scheduler publishes, and the answer comes back through the mailbox from the
 * results role. The whole invocation, every attempt included, takes at most the invoke timeout.
 */
export class InvocationService {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly liveness: LivenessStore,
    private readonly queues: JobQueues,
    private readonly mailbox: InvocationMailbox,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** The invocation's results; undefined when `signal` aborted (the client went away). */
  async invoke(id: string, request: InvokeRequest, signal?: AbortSignal): Promise<string | undefined> {
    const task = await this.tasks.findSummary(id);
    if (!task) throw new NotFoundError(`task ${id} not found`);
    if (!task.latent) throw new ValidationError(`task ${id} is not a latent task`);
    if (task.state !== TaskState.Running)
      throw new ConflictError(
        `task ${id} is not deployed (it is ${stateName(task.state).toLowerCase()}): start it first`,
      );
    const deadline = Date.now() + this.timeoutMs;
    // Without inputs of its own, an invocation takes the task's: the wire always carries a list.
    const payload = { inputs: request.inputs ?? task.inputs ?? [], env: request.env ?? undefined };

    if (!task.broadcast) {
      if (!task.propletId) throw new ConflictError(`task ${id} is not deployed on a proplet`);
      return this.settle(task, await this.attempt(task, task.propletId, payload, deadline, signal));
    }

    const candidates = await this.candidates();
    if (candidates.length === 0) throw new UnavailableError(`no live proplet to invoke task ${id} on`);
    let lastError = '';
    for (const propletId of candidates) {
      const outcome = await this.attempt(task, propletId, payload, deadline, signal);
      if (typeof outcome === 'string' || outcome.error === null || !outcome.error.includes(NOT_PRECOMPILED))
        return this.settle(task, outcome);
      lastError = outcome.error;
    }
    await this.redeploy(task, candidates);
    throw new UnavailableError(
      `${lastError}; task ${id} is being deployed again on ${candidates.length} proplet(s): retry shortly`,
    );
  }

  /** The round-robin pick first, then the other live proplets in id order (spec §4.3). */
  private async candidates(): Promise<string[]> {
    const first = await this.liveness.pickNext();
    const alive = await this.liveness.aliveIds();
    return first === undefined ? alive : [first, ...alive.filter((propletId) => propletId !== first)];
  }

  private async attempt(
    task: Task,
    propletId: string,
    payload: { inputs: string[]; env: Record<string, string> | undefined },
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<Attempt> {
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) return 'timed-out';
    const invocationId = randomUUID();
    const log = this.logger.child({ taskId: task.id, propletId, invocationId });
    // Ends the wait should the job not be queued; the client's abort ends it too.
    const giveUp = new AbortController();
    const stop = signal ? AbortSignal.any([signal, giveUp.signal]) : giveUp.signal;
    const answer = this.mailbox.wait(invocationId, remainingMs, stop);
    try {
      await this.queues.enqueue(
        'task-invoke',
        'invoke',
        { taskId: task.id, propletId, invocationId, ...payload, expiresAt: deadline },
        { jobId: jobIds.invoke(invocationId) },
      );
    } catch (error) {
      giveUp.abort();
      await answer;
      log.error({ err: error }, 'could not queue an invocation');
      throw new UnavailableError('the task queue is unavailable; the task was not invoked, try again');
    }
    const outcome = await answer;
    if (outcome) {
      log.info({ failed: outcome.error !== null }, 'invocation answered');
      return outcome;
    }
    if (signal?.aborted) {
      log.info('invocation abandoned: the client went away');
      return 'abandoned';
    }
    log.warn('invocation timed out');
    return 'timed-out';
  }

  private settle(task: Task, outcome: Attempt): string | undefined {
    if (outcome === 'abandoned') return undefined;
    if (outcome === 'timed-out')
      throw new GatewayTimeoutError(
        `invocation of task ${task.id} timed out after ${goDuration(this.timeoutMs)}`,
      );
    if (outcome.error !== null) throw new BadGatewayError(outcome.error);
    return outcome.results;
  }

  private async redeploy(task: Task, propletIds: string[]): Promise<void> {
    try {
      await this.queues.enqueue(
        'task-invoke',
        'redeploy',
        { taskId: task.id, attempt: task.attempt, propletIds },
        { jobId: jobIds.redeploy(task.id, task.attempt) },
      );
      this.logger.info({ taskId: task.id, proplets: propletIds }, 'latent task to be deployed again');
    } catch (error) {
      this.logger.warn({ taskId: task.id, err: error }, 'could not queue the re-deploy of a latent task');
    }
  }
}
