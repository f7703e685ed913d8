import { CronExpressionParser } from 'cron-parser';

/** Upstream evaluates schedules in UTC when a task names no time zone. */
export const DEFAULT_TIMEZONE = 'UTC';

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FIELD_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;

/**
 * What upstream's parser (robfig/cron, standard 5 fields) understands: numbers, `*`, `?`, ranges, steps,
 * lists, and month or day names in their fields. cron-parser accepts more (seconds, `@daily`, `L`, `W`, `#`,
 * `H`): those would run here and not upstream, or, for `H`, at a random minute that differs between the
 * next_run shown and the one BullMQ computes.
 */
function fieldProblem(field: string, index: number): string | undefined {
  const names = index === 3 ? MONTH_NAMES : index === 4 ? DAY_NAMES : [];
  const words = field.toLowerCase().match(/[a-z]+/g) ?? [];
  const unknownWord = words.find((word) => !names.includes(word));
  if (unknownWord !== undefined) return `unexpected '${unknownWord}' in the ${FIELD_NAMES[index]} field`;
  if (!/^[0-9a-zA-Z*?,/-]+$/.test(field)) return `unexpected characters in the ${FIELD_NAMES[index]} field`;
  return undefined;
}

/** Why `expression` is not a 5-field cron expression, or undefined when it is one. */
export function cronProblem(expression: string): string | undefined {
  const trimmed = expression.trim();
  if (trimmed === '') return 'invalid cron expression: empty';
  if (trimmed.startsWith('@'))
    return 'invalid cron expression: descriptors such as @daily are not supported; use 5 fields';
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5)
    return `invalid cron expression: expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  for (const [index, field] of fields.entries()) {
    const problem = fieldProblem(field, index);
    if (problem) return `invalid cron expression: ${problem}`;
  }
  try {
    // An expression can parse yet never match (31 February): finding its next time tells.
    CronExpressionParser.parse(trimmed, { tz: DEFAULT_TIMEZONE }).next();
  } catch (error) {
    return `invalid cron expression: ${(error as Error).message}`;
  }
  return undefined;
}

/** Why `timezone` is not an IANA time zone name, or undefined when it is one. */
export function timezoneProblem(timezone: string): string | undefined {
  try {
    // Intl knows the IANA database the runtime (and so cron-parser, through luxon) evaluates against.
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return `unknown time zone '${timezone}': expected an IANA name such as Europe/Paris or UTC`;
  }
  return undefined;
}

/**
 * The first occurrence of a valid 5-field `expression` strictly after `after`, reckoned in `timezone`.
 * A time inside a spring-forward gap runs an hour later (it does not exist that day); a time repeated by a
 * fall-back overlap runs once, at its first occurrence. BullMQ computes its ticks with the same parser.
 */
export function nextRun(expression: string, timezone: string | null | undefined, after: Date): Date {
  const parsed = CronExpressionParser.parse(expression.trim(), {
    tz: timezone || DEFAULT_TIMEZONE,
    currentDate: after,
  });
  return parsed.next().toDate();
}

/** The schedule itself, normalised: single spaces between the fields. */
export function normaliseCron(expression: string): string {
  return expression.trim().split(/\s+/).join(' ');
}
