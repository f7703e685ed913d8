import { Command, Option } from 'commander';
import { addHealthCommand } from './commands/health.ts';
import { addJobCommands } from './commands/jobs.ts';
import { addPropletCommands } from './commands/proplets.ts';
import { addTaskCommands } from './commands/tasks.ts';
import { addWorkflowCommands } from './commands/workflows.ts';
import { duration } from './option-parsers.ts';

export const DEFAULT_MANAGER_URL = 'http://localhost:7070';

/**
 * The `propeller` command line: upstream's `propeller-cli` commands and flags (spec §8.6) on the TypeScript
 * SDK. The global options may be written anywhere on the line. `-o` stays upstream's `--offset` of the list
 * commands, so the output format has only its long form, `--output`.
 */
export function buildProgram(): Command {
  const program = new Command('propeller')
    .description('command-line client of the Propeller Manager')
    // Usage errors are thrown, not exited on, so that main.ts gives them exit code 2.
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addOption(
      new Option('-m, --manager-url <url>', "the manager's address")
        .env('PROPELLER_MANAGER_URL')
        .default(DEFAULT_MANAGER_URL),
    )
    .addOption(new Option('--token <token>', 'API token, sent as a bearer token').env('PROPELLER_TOKEN'))
    .addOption(
      new Option('--output <format>', 'json (the server JSON) or table')
        .choices(['json', 'table'])
        .default('table'),
    )
    .addOption(
      new Option(
        '--timeout <duration>',
        'how long to wait for each answer (default 30s); for `tasks run`, for the task to end (default 60s)',
      ).argParser(duration),
    );
  // After the settings above, which the subcommands inherit as they are created.
  addTaskCommands(program);
  addPropletCommands(program);
  addJobCommands(program);
  addWorkflowCommands(program);
  addHealthCommand(program);
  return program;
}
