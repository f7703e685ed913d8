import { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';

/** An id in a path that must be a UUID; also what the OpenAPI document declares for it. */
export const uuidId = z.guid().describe('A UUID');

/** An id in a path that upstream only checks to be non-empty (a proplet's MQTT entity id, say). */
export const anyId = z.string().trim().min(1).describe('Any non-empty id');

/** Ids in paths are UUIDs, as upstream validates them; anything else is a client mistake. */
export function requireUuid(value: unknown, what: string): string {
  if (typeof value !== 'string' || !uuidId.safeParse(value).success) {
    throw new ValidationError(
      `invalid ${what}: expected a UUID, got '${typeof value === 'string' ? value : ''}'`,
    );
  }
  return value;
}

/** Routes where upstream only checks that the id is not empty. */
export function requireNonEmpty(value: unknown, what: string): string {
  if (typeof value !== 'string' || !anyId.safeParse(value).success)
    throw new ValidationError(`missing ${what}`);
  return value;
}
