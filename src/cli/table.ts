import { stateName } from '../domain/task-state.ts';

/**
 * The human form of the output: a compact table for a list, `key  value` lines for one object. Plain text,
 * no colours, so that it reads the same in a terminal, a pipe and a log.
 */

export interface Column {
  header: string;
  value: (row: Record<string, unknown>) => unknown;
}

/** A column showing one field. */
export const field = (key: string, header = key.toUpperCase()): Column => ({
  header,
  value: (row) => row[key],
});

/** A column showing a numeric task state by its name. */
export const stateField = (key = 'state'): Column => ({
  header: key.toUpperCase(),
  value: (row) => (typeof row[key] === 'number' ? stateName(row[key]) : row[key]),
});

/** Upstream's "never": Go's zero time, which the wire carries for a time not reached. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export function cell(value: unknown): string {
  if (value === undefined || value === null || value === ZERO_TIME) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return JSON.stringify(value);
}

export function renderTable(rows: readonly Record<string, unknown>[], columns: readonly Column[]): string {
  const cells = rows.map((row) => columns.map((column) => cell(column.value(row))));
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((line) => line[index]?.length ?? 0)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, index) => (index === values.length - 1 ? value : value.padEnd(widths[index] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header)), ...cells.map(line)].join('\n');
}

/** One object: a line per field, the keys aligned; a task state is shown with its name. */
export function renderRecord(record: Record<string, unknown>, skip: readonly string[] = []): string {
  const entries = Object.entries(record).filter(([key]) => !skip.includes(key));
  const width = Math.max(0, ...entries.map(([key]) => key.length));
  return entries
    .map(([key, value]) => {
      const text =
        key === 'state' && typeof value === 'number' ? `${stateName(value)} (${value})` : cell(value);
      return `${key.padEnd(width)}  ${text}`.trimEnd();
    })
    .join('\n');
}
