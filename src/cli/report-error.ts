import { CommanderError } from 'commander';
import { PropellerConnectionError, PropellerError, WaitForTimeoutError } from '../sdk/index.ts';

/** Exit codes: 0 done, 1 the manager refused or could not be reached (or the task failed), 2 a usage error. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure the CLI itself found (a file that cannot be read, JSON that does not parse). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = EXIT_FAILURE,
  ) {
    super(message);
  }
}

/**
 * Writes `error: …` to stderr and returns the exit code. A refusal shows the server's own wording and status;
 * commander has already written its usage errors (and help), so those only set the code.
 */
export function reportError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
  let message: string;
  let code = EXIT_FAILURE;
  if (error instanceof PropellerError) message = `${error.message} (${error.status})`;
  else if (error instanceof PropellerConnectionError || error instanceof WaitForTimeoutError)
    message = error.message;
  else if (error instanceof CliError) {
    message = error.message;
    code = error.exitCode;
  } else message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`error: ${message}\n`);
  return code;
}
