import { Option, type Command } from 'commander';
import { ALIVE_COLUMNS, PROPLET_COLUMNS, PROPLET_METRICS_COLUMNS } from '../columns.ts';
import { clientFor } from '../context.ts';
import { nonNegativeInteger } from '../option-parsers.ts';
import { printDone, printPage, printRecord } from '../output.ts';

const page = (command: Command, what: string) =>
  command
    .option('-o, --offset <n>', `${what} to skip`, nonNegativeInteger, 0)
    .option('-l, --limit <n>', `${what} to show`, nonNegativeInteger, 10);

/** `propeller proplets …`: the workers the manager knows. */
export function addPropletCommands(program: Command): void {
  const proplets = program.command('proplets').description('inspect the proplets (workers)');

  page(proplets.command('list').description('list proplets'), 'proplets')
    .addOption(
      new Option('--status <status>', 'only active or inactive ones').choices(['active', 'inactive']),
    )
    .action(
      async (flags: { offset: number; limit: number; status?: 'active' | 'inactive' }, command: Command) => {
        printPage(command, await clientFor(command).proplets.list(flags), 'proplets', PROPLET_COLUMNS);
      },
    );

  proplets
    .command('view <id>')
    .description('show a proplet')
    .action(async (id: string, _flags: unknown, command: Command) => {
      printRecord(command, await clientFor(command).proplets.get(id));
    });

  proplets
    .command('delete <id>')
    .description('forget a proplet')
    .action(async (id: string, _flags: unknown, command: Command) => {
      await clientFor(command).proplets.delete(id);
      printDone(command, `deleted proplet ${id}`);
    });

  proplets
    .command('sdf <id>')
    .description("print a proplet's SDF description (JSON)")
    .action(async (id: string, _flags: unknown, command: Command) => {
      // A nested document: JSON is its only readable form.
      process.stdout.write(`${JSON.stringify(await clientFor(command).proplets.sdf(id), null, 2)}\n`);
    });

  page(proplets.command('metrics <id>').description("list a proplet's metrics"), 'entries').action(
    async (id: string, flags: { offset: number; limit: number }, command: Command) => {
      const body = await clientFor(command).proplets.metrics(id, flags);
      printPage(command, body, 'metrics', PROPLET_METRICS_COLUMNS);
    },
  );

  page(proplets.command('alive-history <id>').description("list a proplet's heartbeats"), 'entries').action(
    async (id: string, flags: { offset: number; limit: number }, command: Command) => {
      const body = await clientFor(command).proplets.aliveHistory(id, flags);
      printPage(command, body, 'history', ALIVE_COLUMNS);
    },
  );
}
