import { setTimeout as sleep } from 'node:timers/promises';
import { PropellerConnectionError, PropellerError } from './errors.ts';
import type { Transport } from './transport.ts';
import type { ManagerEvent } from './types.ts';

export interface EventStreamOptions {
  /** Follow only these tasks (at most 100); the server first sends a `snapshot` of each. */
  taskIds?: readonly string[];
  /** Resume after this event id, as EventSource does with Last-Event-ID. */
  lastEventId?: string;
  /**
   * When the stream breaks, open it again after the server's `retry` delay, resuming after the last event
   * seen (default true); a 5xx answer too. A refusal (4xx) is never retried: it is thrown as a PropellerError.
   */
  reconnect?: boolean;
  /** Ends the iteration (without an error). */
  signal?: AbortSignal;
}

/** Until the server says otherwise with a `retry:` line. */
const DEFAULT_RETRY_MS = 1_000;

interface Frame {
  id?: string;
  event: string;
  data: string;
}

/**
 * GET /events as an async iterator of `task` and `proplet` events, parsed by the text/event-stream rules
 * (src/http/sse.ts writes them: one JSON line of data per event, comments as keep-alives). Breaking out of
 * the loop closes the connection.
 */
export async function* followEvents(
  transport: Transport,
  options: EventStreamOptions = {},
): AsyncGenerator<ManagerEvent, void, undefined> {
  let lastEventId = options.lastEventId;
  let retryMs = DEFAULT_RETRY_MS;
  const outer = options.signal;
  for (;;) {
    if (outer?.aborted) return;
    // One controller per connection, so that leaving the loop closes this one.
    const connection = new AbortController();
    const signal = outer ? AbortSignal.any([connection.signal, outer]) : connection.signal;
    try {
      const response = await transport.open('GET', '/events', {
        query: { task_id: options.taskIds?.join(',') },
        headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
        signal,
      });
      if (!response.body) throw new PropellerConnectionError('network', 'GET', '/events');
      for await (const frame of frames(response.body)) {
        if (frame.event === 'retry') {
          retryMs = Number(frame.data);
          continue;
        }
        if (frame.id !== undefined) lastEventId = frame.id;
        if (frame.event !== 'task' && frame.event !== 'proplet') continue;
        // The server writes each event's data as one JSON document (sse.ts); its shape is event-view.ts's.
        const data = JSON.parse(frame.data) as ManagerEvent['data'];
        yield {
          event: frame.event,
          ...(frame.id === undefined ? {} : { id: frame.id }),
          data,
        } as ManagerEvent;
      }
      // The server ended the stream (it is shutting down): as a break, resumed if asked.
    } catch (error) {
      if (outer?.aborted) return;
      // A 503 is an api process shutting down, whose clients are to reconnect (to another one); a 4xx
      // would be refused again.
      const refused = error instanceof PropellerError && error.status < 500;
      if (refused || options.reconnect === false) throw error;
    } finally {
      connection.abort();
    }
    if (options.reconnect === false)
      throw new PropellerConnectionError('network', 'GET', '/events', {
        cause: new Error('the server ended the stream'),
      });
    try {
      await sleep(retryMs, undefined, outer ? { signal: outer } : {});
    } catch {
      return;
    }
  }
}

/** Events of a text/event-stream body; a `retry:` field comes out as an event named `retry`. */
async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  const decoder = new TextDecoder();
  let buffer = '';
  let fields: { id?: string; event?: string; data: string[] } = { data: [] };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, end).replace(/\r$/, '');
      buffer = buffer.slice(end + 1);
      if (line === '') {
        if (fields.data.length > 0)
          yield {
            ...(fields.id === undefined ? {} : { id: fields.id }),
            event: fields.event ?? 'message',
            data: fields.data.join('\n'),
          };
        fields = { data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const name = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'data') fields.data.push(value);
      else if (name === 'event') fields.event = value;
      else if (name === 'id') fields.id = value;
      else if (name === 'retry' && /^\d+$/.test(value)) yield { event: 'retry', data: value };
    }
  }
}
