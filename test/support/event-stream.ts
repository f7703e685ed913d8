import { setTimeout as sleep } from 'node:timers/promises';

export interface StreamFrame {
  id?: string;
  event: string;
  data: any;
}

export interface EventStreamClient {
  status: number;
  headers: Headers;
  /** Every event received so far, in order. */
  readonly frames: StreamFrame[];
  /** Comment lines received so far (keep-alives). */
  readonly comments: string[];
  /** Waits for the first event after those already matched by earlier calls that satisfies `match`. */
  next(match: (frame: StreamFrame) => boolean, what: string, timeoutMs?: number): Promise<StreamFrame>;
  /** Task events about one task, in order. */
  taskEvents(taskId: string): StreamFrame[];
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/**
 * Follows GET /events as EventSource does (text/event-stream parsed by the spec's rules), through fetch,
 * so tests can set Last-Event-ID and see the frames and comments as they arrive.
 */
export async function openEventStream(
  baseUrl: string,
  path = '/events',
  headers: Record<string, string> = {},
  /** Called as each event is parsed: for a benchmark that times arrivals, which next() polls for. */
  onFrame?: (frame: StreamFrame) => void,
): Promise<EventStreamClient> {
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}${path}`, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const frames: StreamFrame[] = [];
  const comments: string[] = [];
  let cursor = 0;
  let buffer = '';
  let fields: { id?: string; event?: string; data: string[] } = { data: [] };

  const onLine = (line: string) => {
    if (line === '') {
      if (fields.data.length > 0) {
        const frame: StreamFrame = {
          ...(fields.id === undefined ? {} : { id: fields.id }),
          event: fields.event ?? 'message',
          data: JSON.parse(fields.data.join('\n')),
        };
        frames.push(frame);
        onFrame?.(frame);
      }
      fields = { data: [] };
      return;
    }
    if (line.startsWith(':')) {
      comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'data') fields.data.push(value);
    else if (name === 'event') fields.event = value;
    else if (name === 'id') fields.id = value;
  };

  const ended = (async () => {
    if (!response.body || !response.ok) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n')) !== -1) {
          onLine(buffer.slice(0, end).replace(/\r$/, ''));
          buffer = buffer.slice(end + 1);
        }
      }
    } catch {
      // Aborted by close(), or the server dropped the connection.
    }
  })();

  return {
    status: response.status,
    headers: response.headers,
    frames,
    comments,
    ended,
    async next(match, what, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (; cursor < frames.length; cursor++) {
          const frame = frames[cursor]!;
          if (match(frame)) {
            cursor++;
            return frame;
          }
        }
        if (Date.now() > deadline)
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(frames.slice(-10))}`,
          );
        await sleep(20);
      }
    },
    taskEvents(taskId) {
      return frames.filter((frame) => frame.event === 'task' && frame.data.task_id === taskId);
    },
    close() {
      abort.abort();
    },
  };
}
