import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../observability/logger.ts';

export interface EmbeddedBroker {
  /** What clients connect to, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  port: number;
  /** Closes the listener, every client connection and the broker, so nothing keeps the process alive. */
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  host?: string;
  /** Taken when free; otherwise (a broker already runs there, say) the system picks a free port. */
  preferredPort?: number;
}

/**
 * An in-process MQTT 3.1.1 broker (aedes) for a first run with nothing installed. It lets anyone connect
 * without credentials: it is meant to listen on the loopback interface only, where just this machine's own
 * processes reach it.
 */
export async function startEmbeddedBroker(
  logger: Logger,
  { host = '127.0.0.1', preferredPort = 1883 }: EmbeddedBrokerOptions = {},
): Promise<EmbeddedBroker> {
  const log = logger.child({ standIn: 'mqtt-broker' });
  const broker = await Aedes.createBroker();
  // Sockets that never sent CONNECT are not among the broker's clients, yet would keep the server open.
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  broker.on('clientError', (client, error) =>
    log.debug({ clientId: client.id, err: error }, 'embedded broker: client error'),
  );
  broker.on('connectionError', (client, error) =>
    log.debug({ clientId: client.id, err: error }, 'embedded broker: connection error'),
  );

  let port: number;
  try {
    port = await listen(server, host, preferredPort).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error;
      log.info({ preferredPort }, 'embedded broker: preferred port in use, taking a free one');
      return listen(server, host, 0);
    });
  } catch (error) {
    await closeBroker(broker);
    throw error;
  }
  server.on('error', (error) => log.warn({ err: error }, 'embedded broker: listener error'));
  const url = `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ host, port, url }, 'embedded MQTT broker listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close: () =>
      (closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await closeBroker(broker);
        for (const socket of sockets) socket.destroy();
        await serverClosed;
        log.info({ port }, 'embedded MQTT broker closed');
      })()),
  };
}

async function listen(server: Server, host: string, port: number): Promise<number> {
  const listening = once(server, 'listening');
  server.listen(port, host);
  await listening;
  return (server.address() as { port: number }).port;
}

function closeBroker(broker: Aedes): Promise<void> {
  return new Promise((resolve) => broker.close(() => resolve()));
}
