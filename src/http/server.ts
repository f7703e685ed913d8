import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { answerClientErrorsInJson } from './client-errors.ts';

/**
 * Listens and resolves once bound. `writeTimeoutMs` closes a connection on which a response has made no
 * progress for that long (upstream's write timeout; config keeps it longer than the invoke wait). Express 5's app.listen passes a bind error (EADDRINUSE) to the callback
 * instead of throwing, so we listen on a node:http server and reject on its 'error' event.
 */
export function listen(app: Express, host: string, port: number, writeTimeoutMs?: number): Promise<Server> {
  const server = createServer(app);
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
