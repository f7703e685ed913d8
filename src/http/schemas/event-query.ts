import { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';

/** Tasks one stream may follow by id. */
export const MAX_FOLLOWED_TASKS = 100;

const uuid = z.guid();

/**
 * The query of GET /events: `task_id` (repeated, or a comma list) follows only those tasks;
 * `last_event_id` resumes as the Last-Event-ID header does, for clients that cannot set headers.
 */
export const eventStreamQuery = z.object({
  task_id: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe('follow only these tasks (UUIDs, repeated or comma-separated, at most 100)'),
  last_event_id: z
    .string()
    .optional()
    .describe('resume after this event id, as the Last-Event-ID header does'),
});

export interface EventStreamRequest {
  taskIds?: string[];
  lastEventId?: number;
}

function parseTaskIds(raw: string | string[] | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const ids = [...new Set((Array.isArray(raw) ? raw : [raw]).flatMap((item) => item.split(',')))]
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (ids.length === 0) throw new ValidationError('invalid task_id: expected one or more task ids');
  if (ids.length > MAX_FOLLOWED_TASKS)
    throw new ValidationError(`invalid task_id: at most ${MAX_FOLLOWED_TASKS} tasks per stream`);
  const bad = ids.find((id) => !uuid.safeParse(id).success);
  if (bad !== undefined)
    throw new ValidationError(`invalid task_id: expected a UUID, got '${bad.slice(0, 100)}'`);
  return ids;
}

function parseLastEventId(raw: string | undefined, what: string): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value))
    throw new ValidationError(`invalid ${what}: expected a non-negative integer (an event id)`);
  return value;
}

/** The stream a client asks for; the Last-Event-ID header (sent by EventSource on reconnect) wins. */
export function parseEventStreamRequest(query: unknown, lastEventIdHeader?: string): EventStreamRequest {
  const parsed = eventStreamQuery.safeParse(query);
  if (!parsed.success)
    throw new ValidationError('invalid query parameters: task_id and last_event_id are text values');
  const header = parseLastEventId(lastEventIdHeader, 'Last-Event-ID');
  const lastEventId = header ?? parseLastEventId(parsed.data.last_event_id, 'last_event_id');
  const taskIds = parseTaskIds(parsed.data.task_id);
  return {
    ...(taskIds ? { taskIds } : {}),
    ...(lastEventId === undefined ? {} : { lastEventId }),
  };
}
