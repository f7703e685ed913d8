import type { Command } from 'commander';
import { globalOptions } from './context.ts';
import { renderRecord, renderTable, type Column } from './table.ts';

/**
 * Writes a command's answer to stdout: with `--output json` the server's JSON as it came, pretty printed (for
 * scripts and jq); with `--output table` (the default) the human form from table.ts.
 */

type Row = Record<string, unknown>;

export function write(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

const isJson = (command: Command) => globalOptions(command).output === 'json';

/** One object. `lists`: fields holding a list of objects, shown as a table under the other fields. */
export function printRecord(
  command: Command,
  record: unknown,
  lists: Record<string, readonly Column[]> = {},
): void {
  if (isJson(command)) return write(JSON.stringify(record, null, 2));
  if (typeof record !== 'object' || record === null) return write(String(record));
  const object = record as Row;
  const nested = Object.keys(lists).filter((key) => Array.isArray(object[key]));
  const parts = [renderRecord(object, nested)];
  for (const key of nested) {
    parts.push(`\n${key}:\n${renderTable(object[key] as Row[], lists[key] ?? [])}`);
  }
  write(parts.join('\n'));
}

/** A page of a list: `key` is the field holding the rows; table output ends with where the page lies. */
export function printPage(command: Command, page: unknown, key: string, columns: readonly Column[]): void {
  if (isJson(command)) return write(JSON.stringify(page, null, 2));
  const body = page as Row;
  const rows = (Array.isArray(body[key]) ? body[key] : []) as unknown[];
  const objects = rows.map((row) => (typeof row === 'object' && row !== null ? (row as Row) : { time: row }));
  const offset = typeof body.offset === 'number' ? body.offset : 0;
  const total = typeof body.total === 'number' ? body.total : rows.length;
  const range = rows.length === 0 ? `none of ${total}` : `${offset + 1}-${offset + rows.length} of ${total}`;
  write(`${renderTable(objects, columns)}\n(${range})`);
}

/** An action without a body in its answer (204): a line saying it was done, nothing in JSON. */
export function printDone(command: Command, message: string): void {
  if (!isJson(command)) write(message);
}
