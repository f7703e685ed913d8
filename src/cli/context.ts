import type { Command } from 'commander';
import { PropellerClient } from '../sdk/index.ts';

export type OutputFormat = 'json' | 'table';

/** The global options (program.ts), as every command sees them wherever they were written on the line. */
export interface GlobalOptions {
  managerUrl: string;
  token?: string;
  output: OutputFormat;
  /** Milliseconds; per request, and for `tasks run` how long to wait for the task to finish. */
  timeout?: number;
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** A client for the manager the global options name. */
export function clientFor(command: Command): PropellerClient {
  const { managerUrl, token, timeout } = globalOptions(command);
  return new PropellerClient({
    baseUrl: managerUrl,
    ...(token ? { token } : {}),
    ...(timeout ? { timeoutMs: timeout } : {}),
  });
}
