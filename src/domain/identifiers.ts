import { z } from 'zod';

/**
 * What an id from outside (a proplet's MQTT entity id, an invocation id) may be. Proplet ids are not
 * UUIDs upstream, so any text of printable characters is taken; bounded, so that a hostile one cannot bloat
 * keys, rows and log lines, and without control or invisible characters, which no real id has and which
 * would make two ids look alike in a log or a page.
 */
export const MAX_IDENTIFIER_LENGTH = 255;

/** Control (C0, DEL, C1), format (zero-width, bidi overrides), surrogate, line and paragraph separators, and whitespace. */
const UNFIT = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\s]/u;

/** Why `value` is not a sane identifier, or undefined when it is one. */
export function identifierProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_IDENTIFIER_LENGTH) return `must be at most ${MAX_IDENTIFIER_LENGTH} characters`;
  if (UNFIT.test(value)) return 'must not contain whitespace, control or invisible characters';
  return undefined;
}

const checkedIdentifier = (emptyAllowed: boolean) =>
  z.string().superRefine((value, ctx) => {
    const problem = emptyAllowed && value === '' ? undefined : identifierProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** The same rule as a schema, for the boundaries that parse with zod. */
export const identifier = checkedIdentifier(false);

/** An identifier, or the empty string upstream clients send for none. */
export const identifierOrEmpty = checkedIdentifier(true);
