import { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';
import { identifier, identifierProblem } from '../../domain/identifiers.ts';

/** An id in a path that must be a UUID; also what the OpenAPI document declares for it. */
export const uuidId = z.guid().describe('A UUID');

/**
 * An id in a path that upstream only checks to be non-empty (a proplet's MQTT entity id, say): any sane
 * identifier (src/domain/identifiers.ts).
 */
export const anyId = identifier.describe(
  'Any id of printable characters, without whitespace, at most 255 characters',
);

/** Ids in paths are UUIDs, as upstream validates them; anything else is a client mistake. */
export function requireUuid(value: unknown, what: string): string {
  if (typeof value !== 'string' || !uuidId.safeParse(value).success) {
    throw new ValidationError(
      `invalid ${what}: expected a UUID, got '${typeof value === 'string' ? value : ''}'`,
    );
  }
  return value;
}

/** Routes where upstream only checks that the id is not empty: any sane identifier. */
export function requireIdentifier(value: unknown, what: string): string {
  const problem = typeof value === 'string' ? identifierProblem(value) : 'missing';
  if (problem) throw new ValidationError(`invalid ${what}: ${problem}`);
  return value as string;
}
