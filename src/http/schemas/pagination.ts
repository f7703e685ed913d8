import { ValidationError } from '../../domain/errors.ts';

export interface Page {
  offset: number;
  limit: number;
}

function readUnsigned(query: Record<string, unknown>, key: string, fallback: number): number {
  const raw = query[key];
  if (raw === undefined || raw === '') return fallback;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) {
    throw new ValidationError(`invalid query parameters: ${key} must be a non-negative integer`);
  }
  return Number(raw);
}

/**
 * `offset` and `limit` as upstream reads them: unsigned integers, default 0 and 100. Tasks accept a limit of
 * 1 to 100; other lists accept 0 (an empty page) up to `maxLimit`.
 */
export function parsePage(
  query: Record<string, unknown>,
  bounds: { minLimit: number; maxLimit: number },
): Page {
  const offset = readUnsigned(query, 'offset', 0);
  const limit = readUnsigned(query, 'limit', 100);
  if (limit < bounds.minLimit || limit > bounds.maxLimit) {
    throw new ValidationError(
      `invalid limit size: limit must be from ${bounds.minLimit} to ${bounds.maxLimit}`,
    );
  }
  if (!Number.isSafeInteger(offset))
    throw new ValidationError('invalid query parameters: offset is too large');
  return { offset, limit };
}

/** Lists other than tasks accept any limit upstream; a larger one is served as the largest page we send. */
const OPEN_PAGE_BOUNDS = { minLimit: 0, maxLimit: Number.MAX_SAFE_INTEGER };
const LARGEST_PAGE = 1_000;

/** The page of a list other than tasks (proplets, alive history, metrics): any limit, clamped. */
export function parseOpenPage(query: Record<string, unknown>): Page {
  const page = parsePage(query, OPEN_PAGE_BOUNDS);
  return { ...page, limit: Math.min(page.limit, LARGEST_PAGE) };
}
