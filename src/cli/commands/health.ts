import type { Command } from 'commander';
import { clientFor } from '../context.ts';
import { printRecord } from '../output.ts';
import { EXIT_FAILURE } from '../report-error.ts';

/** `propeller health`: the manager's health document; exit 1 when it reports a failing dependency. */
export function addHealthCommand(program: Command): void {
  program
    .command('health')
    .description("show the manager's health")
    .action(async (_flags: unknown, command: Command) => {
      const health = await clientFor(command).health();
      printRecord(command, health);
      if (health.status !== 'pass') process.exitCode = EXIT_FAILURE;
    });
}
