import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { HttpTls } from '../config/config.ts';
import { answerClientErrorsInJson } from './client-errors.ts';

/** node:http, or node:https when the manager has a certificate; both answer the same calls below. */
export type Server = HttpServer | HttpsServer;

export interface ListenOptions {
  /**
   * Closes a connection on which a response has made no progress for that long (upstream's write timeout;
   * config keeps it longer than the invoke wait).
   */
  writeTimeoutMs?: number;
  /** Serve HTTPS with this certificate and key (MANAGER_HTTP_SERVER_CERT and _KEY). */
  tls?: HttpTls;
}

/**
 * Listens and resolves once bound. Express 5's app.listen passes a bind error (EADDRINUSE) to the callback
 * instead of throwing, so we listen on a node:http(s) server and reject on its 'error' event.
 */
export function listen(
  handler: RequestListener,
  host: string,
  port: number,
  { writeTimeoutMs, tls }: ListenOptions = {},
): Promise<Server> {
  const server: Server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler)
    : createHttpServer(handler);
  answerClientErrorsInJson(server);
  if (writeTimeoutMs !== undefined) server.setTimeout(writeTimeoutMs);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Keep-alive connections would hold close() open until they time out.
    server.closeIdleConnections();
  });
}
