import { InvalidArgumentError } from 'commander';

/**
 * Parsers for option values. A value they refuse becomes a usage error that commander reports with the
 * option's name (exit 2), before any request is sent.
 */

export function integer(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

export function nonNegativeInteger(value: string): number {
  const number = integer(value);
  if (number < 0) throw new InvalidArgumentError('must not be negative');
  return number;
}

/** A duration: `30` (seconds), `500ms`, `30s`, `2m`; returned in milliseconds. */
export function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('must be a duration such as 30, 30s, 500ms or 2m');
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = unit === 'ms' ? amount : unit === 's' ? amount * 1000 : amount * 60_000;
  if (ms <= 0) throw new InvalidArgumentError('must be more than zero');
  return Math.round(ms);
}

/** `--env K=V`, repeatable: the pairs collected into one object (a later K wins). */
export function keyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${value}" is not KEY=VALUE`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/**
 * A list option in both of the forms it is written in: upstream's (`--inputs 2,3`, or the flag repeated)
 * and, where the option is variadic, `--inputs 2 3`. Every value is split on commas and appended.
 */
export function list(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  ];
}
