/**
 * Frames of a server-sent-events stream (text/event-stream). Data is one line of JSON: JSON.stringify
 * escapes line breaks inside strings, and a line break is all that could end a field early.
 */
export function sseEvent(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: ignored by clients, it keeps proxies from closing a quiet stream. */
export function sseComment(text: string): string {
  return `: ${text}\n\n`;
}

/** How long a client waits before reconnecting after the stream broke. */
export function sseRetry(ms: number): string {
  return `retry: ${ms}\n\n`;
}
