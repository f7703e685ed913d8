import { STATUS_CODES, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';

/** Node's HTTP parser errors that mean "too large", and the status that says so. */
const STATUS_BY_CODE: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * Requests Node's parser refuses before Express sees them (a URL or headers beyond 16 KiB, a malformed
 * request line, bytes that are not HTTP) get Node's bare status line; this answers them as every other
 * refusal is answered, `{"error": "..."}`, and closes the connection, which the parser cannot read on.
 */
export function answerClientErrorsInJson(server: Server | HttpsServer): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = STATUS_BY_CODE[error.code ?? ''] ?? 400;
    const body = JSON.stringify({
      error: status === 431 ? 'request line or headers too large' : 'malformed HTTP request',
    });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
