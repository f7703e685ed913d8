import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from '@electric-sql/pglite-socket';

type QueryQueue = PGLiteSocketHandlerOptions['queryQueue'];

/** Protocol version 3.0 in a startup message. */
const STARTUP_PROTOCOL = 196_608;
/**
 * Messages after which the server answers: a simple query, Sync (end of an extended-protocol exchange),
 * Flush, a password, Terminate. The messages before them belong with them.
 */
const ANSWERED_AFTER = new Set(['Q', 'S', 'H', 'p', 'X'].map((letter) => letter.charCodeAt(0)));

interface Unit {
  handlerId: number;
  bytes: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs the connections' requests on PGlite's single session one exchange at a time. pglite-socket's own
 * queue runs one protocol *message* at a time, so under load another connection's Parse could land
 * between a Parse and its Bind and take its unnamed statement ("bind message supplies 4 parameters, but
 * prepared statement requires 1", "portal does not exist"); here a Parse…Sync exchange is never split.
 * While one connection has a transaction open, only it is served, as in pglite-socket.
 */
class ExchangeQueue {
  private readonly partial = new Map<number, Uint8Array[]>();
  private readonly waiting: Unit[] = [];
  private running = false;
  /** The connection whose exchange runs now. */
  private current: number | undefined;
  private holder: number | undefined;
  /** Connections gone while they may still have a transaction open (or an exchange running). */
  private readonly closed = new Set<number>();

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    const parts = this.partial.get(handlerId) ?? [];
    parts.push(message);
    const isStartup =
      message.length >= 8 &&
      new DataView(message.buffer, message.byteOffset).getInt32(4) === STARTUP_PROTOCOL;
    if (!isStartup && !ANSWERED_AFTER.has(message[0]!)) {
      this.partial.set(handlerId, parts);
      return Promise.resolve(0);
    }
    this.partial.delete(handlerId);
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return new Promise((resolve, reject) => {
      this.waiting.push({ handlerId, bytes, onData, resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const index =
          this.holder === undefined ? 0 : this.waiting.findIndex((unit) => unit.handlerId === this.holder);
        if (index < 0 || this.waiting.length === 0) return;
        const [unit] = this.waiting.splice(index, 1);
        let written = 0;
        this.current = unit!.handlerId;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(unit!.bytes, {
              onRawData: (data) => {
                written += data.length;
                unit!.onData(data);
              },
            }),
          );
          unit!.resolve(written);
        } catch (error) {
          unit!.reject(error);
        }
        const id = unit!.handlerId;
        this.current = undefined;
        if (!this.db.isInTransaction()) {
          this.holder = undefined;
          this.closed.delete(id);
        } else {
          this.holder = id;
          // Its connection went away during this exchange: nobody will end the transaction but us.
          if (this.closed.has(id)) this.waiting.unshift(this.rollback(id));
        }
      }
    } finally {
      this.running = false;
    }
  }

  getQueueLength(): number {
    return this.waiting.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.closed.add(handlerId);
    this.partial.delete(handlerId);
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (this.waiting[i]!.handlerId !== handlerId) continue;
      this.waiting.splice(i, 1)[0]!.reject(new Error('connection closed'));
    }
  }

  /**
   * A connection that goes away inside its transaction must not leave the session in it: a ROLLBACK runs as
   * its last exchange, first in line (it holds the session). One gone mid-exchange is handled in drain.
   */
  clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.holder === handlerId) this.waiting.unshift(this.rollback(handlerId));
    else if (this.current !== handlerId) this.closed.delete(handlerId);
    void this.drain();
    return Promise.resolve();
  }

  private rollback(handlerId: number): Unit {
    const text = Buffer.from('ROLLBACK\0');
    const query = Buffer.alloc(5 + text.length);
    query.write('Q', 0);
    query.writeInt32BE(4 + text.length, 1);
    text.copy(query, 5);
    return {
      handlerId,
      bytes: query,
      onData: () => undefined,
      resolve: () => undefined,
      reject: () => undefined,
    };
  }
}

export interface PgliteServer {
  port: number;
  close(): Promise<void>;
}

/** Serves PGlite over the Postgres wire protocol on a loopback port, to any number of connections. */
export async function servePglite(db: PGlite, host: string, maxConnections: number): Promise<PgliteServer> {
  const queue = new ExchangeQueue(db) as unknown as QueryQueue;
  const handlers = new Set<PGLiteSocketHandler>();
  const server: Server = createServer((socket: Socket) => {
    socket.on('error', () => socket.destroy());
    if (handlers.size >= maxConnections) {
      socket.end('Too many connections\n');
      return;
    }
    const handler = new PGLiteSocketHandler({ queryQueue: queue, closeOnDetach: true });
    handlers.add(handler);
    const forget = () => handlers.delete(handler);
    handler.addEventListener('close', forget);
    handler.addEventListener('error', forget);
    void handler.attach(socket).catch(() => {
      forget();
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...handlers].map((handler) => handler.detach(true)));
      handlers.clear();
      await closed;
    },
  };
}
