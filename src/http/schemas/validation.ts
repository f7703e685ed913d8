import type { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';

/** Keys longer than this are cut in messages: a hostile key must not make a huge answer or log line. */
const SHOWN_KEY_LENGTH = 100;

/** `tasks.0.name`: where a field is, as messages name it. */
export function describePath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((key) => {
      const text = String(key);
      return text.length > SHOWN_KEY_LENGTH ? `${text.slice(0, SHOWN_KEY_LENGTH)}…` : text;
    })
    .join('.');
}

/** One readable line naming each offending field, e.g. "invalid request: name: required; priority: …". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = describePath(issue.path);
      return field ? `${field}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what = 'request'): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(`invalid ${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
