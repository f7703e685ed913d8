import type { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';
import { describePath } from '../../domain/json-shape.ts';

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
