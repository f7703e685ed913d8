import { ValidationError } from '../../domain/errors.ts';
import { describePath, jsonShapeProblem } from '../../domain/json-shape.ts';

/** `?metadata={json}`: one URL-encoded JSON object, as upstream accepts it. */
export function parseMetadataFilter(raw: unknown): Record<string, unknown> | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string')
    throw new ValidationError('invalid query parameters: metadata may be given once');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ValidationError('invalid query parameters: metadata must be a JSON object');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ValidationError('invalid query parameters: metadata must be a JSON object');
  }
  // Postgres reads the filter as jsonb: it must be storable (no NUL) and not deep enough to exhaust its stack.
  const problem = jsonShapeProblem(parsed, { nul: 'refuse' });
  if (problem)
    throw new ValidationError(
      `invalid query parameters: ${describePath(['metadata', ...problem.path])}: ${problem.message}`,
    );
  return parsed as Record<string, unknown>;
}
