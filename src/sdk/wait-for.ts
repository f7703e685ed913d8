import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskState } from '../domain/task-state.ts';
import { WaitForTimeoutError } from './errors.ts';
import type { EventStreamOptions } from './events.ts';
import type { ManagerEvent, Task } from './types.ts';

export interface WaitForOptions {
  /** Give up after this long (default 60 s), rejecting with a WaitForTimeoutError. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Between two reads of the task once polling (default 500 ms). */
  pollIntervalMs?: number;
}

/** What waitFor needs of a client: reading a task and following its events. */
export interface WaitForSource {
  getTask(taskId: string, options: { signal: AbortSignal }): Promise<Task>;
  events(options: EventStreamOptions): AsyncIterable<ManagerEvent>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_POLL_MS = 500;

/**
 * Resolves with the task once its state is one of `states`. It follows GET /events for that task (a change
 * is seen as it happens, without a request per interval); when the stream cannot be opened or breaks (a proxy
 * that buffers it, a manager without it), it polls GET /tasks/{id} instead. A PropellerError from reading
 * the task (404: it was deleted) rejects at once.
 */
export async function waitFor(
  source: WaitForSource,
  taskId: string,
  states: readonly TaskState[],
  options: WaitForOptions = {},
): Promise<Task> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pollMs = options.pollIntervalMs ?? DEFAULT_POLL_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  let lastState: TaskState | undefined;

  const read = async (): Promise<Task | undefined> => {
    const task = await source.getTask(taskId, { signal });
    lastState = task.state as TaskState;
    return states.includes(lastState) ? task : undefined;
  };

  const follow = async (): Promise<Task | undefined> => {
    // The stream first sends a snapshot of the task, so a state reached before it opened is not missed.
    for await (const event of source.events({ taskIds: [taskId], reconnect: false, signal })) {
      if (event.event !== 'task' || event.data.task_id !== taskId) continue;
      lastState = event.data.state;
      // The event carries the state only: the task itself is read, as the caller wants its results.
      if (states.includes(event.data.state)) {
        const task = await read();
        if (task) return task;
      }
    }
    return undefined;
  };

  const poll = async (): Promise<Task> => {
    for (;;) {
      const task = await read();
      if (task) return task;
      await sleep(pollMs, undefined, { signal });
    }
  };

  try {
    try {
      const task = await follow();
      if (task) return task;
    } catch (error) {
      // Any failure of the stream, a refusal included: polling then reads the task, and a refusal of
      // that (401, 404) is the answer the caller gets.
      if (signal.aborted) throw error;
    }
    return await poll();
  } catch (error) {
    if (deadline.aborted) throw new WaitForTimeoutError(taskId, lastState, states, timeoutMs);
    throw error;
  }
}
