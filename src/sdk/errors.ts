import { stateName } from '../domain/task-state.ts';

/**
 * The errors the SDK throws. A caller tells them apart by class: the server answered and refused
 * (PropellerError, with its status), or no answer came at all (PropellerConnectionError), which is the one
 * worth retrying.
 */

/** The server answered with an error status; `message` is its `{"error": …}` wording. */
export class PropellerError extends Error {
  override readonly name = 'PropellerError';

  constructor(
    readonly status: number,
    message: string,
    /** The parsed JSON body, or the text when it was not JSON. */
    readonly body: unknown,
    readonly method: string,
    readonly path: string,
  ) {
    super(message);
  }
}

export type ConnectionFailure = 'timeout' | 'network' | 'aborted';

/** No answer: the manager could not be reached, the request timed out, or the caller aborted it. */
export class PropellerConnectionError extends Error {
  override readonly name = 'PropellerConnectionError';

  constructor(
    readonly kind: ConnectionFailure,
    readonly method: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`${method} ${path}: ${describeFailure(kind, options?.cause)}`, options);
  }
}

function describeFailure(kind: ConnectionFailure, cause: unknown): string {
  if (kind === 'timeout') return 'no answer in time';
  if (kind === 'aborted') return 'aborted';
  const reason = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause : cause).message : '';
  return `the manager could not be reached${reason ? ` (${reason})` : ''}`;
}

/** waitFor gave up: the task did not reach one of the states in time. */
export class WaitForTimeoutError extends Error {
  override readonly name = 'WaitForTimeoutError';

  constructor(
    readonly taskId: string,
    /** The last state seen, or undefined when the task could not be read at all. */
    readonly lastState: number | undefined,
    readonly states: readonly number[],
    timeoutMs: number,
  ) {
    super(
      `task ${taskId} did not reach ${states.map(stateName).join(' or ')} within ${timeoutMs} ms; ` +
        `last state: ${lastState === undefined ? 'unknown' : stateName(lastState)}`,
    );
  }
}
