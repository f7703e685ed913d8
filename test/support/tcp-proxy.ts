import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * How the proxy treats connections: passes them on; swallows what they send (a server that stopped
 * answering); or answers each new one as a Postgres starting up does (57P03) and hangs up.
 */
export type ProxyMode = 'pass' | 'stall' | 'starting-up';

export interface TcpProxy {
  port: number;
  /** Takes effect for data and connections from now on. */
  setMode(mode: ProxyMode): void;
  /**
   * Stops listening (connecting is refused) and drops every connection: closed, or reset as by a server
   * that went away mid-exchange.
   */
  cut(how?: 'close' | 'reset'): Promise<void>;
  /** Listens again on the same port, treating connections as `mode` says. */
  restore(mode?: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

/** An ErrorResponse as Postgres sends it to a connection while it starts up. */
function startingUpError(): Buffer {
  const fields = Buffer.from('SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0', 'utf8');
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

/**
 * A TCP proxy to a shared service, so that a test can make that service go away for one manager and come
 * back, without touching the service itself.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let mode: ProxyMode = 'pass';
  let server: Server | undefined;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };

  const onConnection = (client: Socket) => {
    track(client);
    if (mode === 'starting-up') {
      client.once('data', () => client.end(startingUpError()));
      return;
    }
    const upstream = connect(target.port, target.host);
    track(upstream);
    const forward = (to: Socket) => (data: Buffer) => {
      if (mode !== 'stall') to.write(data);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };

  const listen = async (port: number) => {
    server = createServer(onConnection).listen(port, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as { port: number }).port;
  };

  const cut = async (how: 'close' | 'reset' = 'close') => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) {
      if (how === 'reset') socket.resetAndDestroy();
      else socket.destroy();
    }
    if (closing) await new Promise((resolve) => closing.close(resolve));
  };

  const port = await listen(0);
  return {
    port,
    setMode: (next) => {
      mode = next;
    },
    cut,
    restore: async (next = 'pass') => {
      mode = next;
      if (!server) await listen(port);
    },
    close: () => cut(),
  };
}
