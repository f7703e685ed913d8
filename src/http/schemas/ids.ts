import { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';

/** Ids in paths are UUIDs, as upstream validates them; anything else is a client mistake. */
export function requireUuid(value: unknown, what: string): string {
  if (typeof value !== 'string' || !z.guid().safeParse(value).success) {
    throw new ValidationError(
      `invalid ${what}: expected a UUID, got '${typeof value === 'string' ? value : ''}'`,
    );
  }
  return value;
}

/** Routes where upstream only checks that the id is not empty. */
export function requireNonEmpty(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(`missing ${what}`);
  return value;
}
