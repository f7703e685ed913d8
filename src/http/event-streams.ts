import type { Response } from 'express';
import { NotFoundError, UnavailableError } from '../domain/errors.ts';
import type { PropletEvent, TaskEvent } from '../domain/task-event.ts';
import type { Logger } from '../observability/logger.ts';
import { eventStreamClients, eventStreamDrops } from '../observability/event-stream-metrics.ts';
import type { PropletAliveFeed } from '../services/proplet-alive-feed.ts';
import type { TaskEventFeed } from '../services/task-event-feed.ts';
import type { EventStreamRequest } from './schemas/event-query.ts';
import { toPropletEventJson, toTaskEventJson } from './schemas/event-view.ts';
import { sseComment, sseEvent, sseRetry } from './sse.ts';

export interface EventStreamsOptions {
  /** A comment is sent this often, so that proxies do not close a quiet stream. */
  heartbeatMs: number;
  /** A client whose unsent data grows beyond this many bytes is disconnected. */
  maxBufferedBytes: number;
  /** Live events held for a client still being sent its catch-up; beyond, it is disconnected. */
  maxPendingEvents: number;
  /** Changes a resuming client may be sent from the log; beyond, it is told to resync instead. */
  maxReplayEvents: number;
  /** How long EventSource waits before it reconnects. */
  retryMs: number;
  logger: Logger;
}

interface Outgoing {
  frame: string;
  task?: TaskEvent;
}

interface Client {
  readonly res: Response;
  readonly taskIds?: ReadonlySet<string>;
  /** While its catch-up (replay or snapshot) is read and sent, live events wait here, then follow it. */
  pending?: Outgoing[];
  open: boolean;
}

interface CatchUp {
  frames: string[];
  /** The catch-up already told the client this (or something newer about the same task). */
  covers(item: Outgoing): boolean;
}

const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  // nginx buffers proxied responses unless told not to.
  'X-Accel-Buffering': 'no',
  // A stream ends only when the manager stops or drops the client: the connection has no further use, and
  // closing it lets the HTTP server stop without waiting for idle keep-alive sockets.
  Connection: 'close',
};

const taskFrame = (event: TaskEvent) => sseEvent('task', toTaskEventJson(event), event.id);
const propletFrame = (event: PropletEvent) => sseEvent('proplet', toPropletEventJson(event));

/**
 * The clients of GET /events on this api process. It follows the task and proplet feeds once, while it has
 * clients, and writes each event, serialised once, to every client it concerns. Memory per client is
 * bounded: one that falls behind by more than maxBufferedBytes is disconnected (its EventSource
 * reconnects and resumes from the log).
 */
export class EventStreams {
  private readonly clients = new Set<Client>();
  private subscription?: Promise<() => void>;
  private heartbeat?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly tasks: TaskEventFeed,
    private readonly proplets: PropletAliveFeed,
    private readonly options: EventStreamsOptions,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /**
   * Serves one stream: its catch-up (a snapshot of the tasks it follows, or the changes it missed when it
   * resumes), a `ready` event, then live events until the client leaves. Resolves once it is live.
   */
  async open(res: Response, request: EventStreamRequest): Promise<void> {
    if (this.closed) throw new UnavailableError('the manager is shutting down');
    const client: Client = {
      res,
      ...(request.taskIds ? { taskIds: new Set(request.taskIds) } : {}),
      pending: [],
      open: true,
    };
    // Counted before anything is awaited, so that another client leaving meanwhile keeps the feeds on.
    this.add(client);
    res.on('close', () => this.remove(client));
    let catchUp: CatchUp;
    try {
      await this.subscribe();
      catchUp = await this.catchUp(request);
    } catch (error) {
      this.remove(client);
      throw error;
    }
    if (!client.open) return;
    res.status(200).set(STREAM_HEADERS).flushHeaders();
    try {
      await this.writeAll(client, [sseRetry(this.options.retryMs), ...catchUp.frames]);
      while (client.pending && client.pending.length > 0) {
        const held = client.pending.splice(0);
        await this.writeAll(
          client,
          held.filter((item) => !catchUp.covers(item)).map((item) => item.frame),
        );
      }
      // No await since the last look at pending: nothing can have been added to it unseen.
      client.pending = undefined;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'event stream failed while catching up');
      this.remove(client);
      res.destroy();
    }
  }

  /** Ends every stream and stops following the feeds (clients reconnect to another api process). */
  async close(): Promise<void> {
    this.closed = true;
    for (const client of [...this.clients]) {
      this.remove(client);
      if (client.res.headersSent) client.res.end();
      else client.res.destroy();
    }
    await Promise.all([this.tasks.stop(), this.proplets.stop()]);
  }

  private add(client: Client): void {
    this.clients.add(client);
    eventStreamClients.set(this.clients.size);
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  private remove(client: Client): void {
    if (!client.open) return;
    client.open = false;
    this.clients.delete(client);
    eventStreamClients.set(this.clients.size);
    if (this.clients.size > 0) return;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const subscription = this.subscription;
    this.subscription = undefined;
    void subscription?.then(
      (unsubscribe) => unsubscribe(),
      () => undefined,
    );
  }

  private async subscribe(): Promise<void> {
    this.subscription ??= this.subscribeFeeds();
    const subscription = this.subscription;
    try {
      await subscription;
    } catch (error) {
      if (this.subscription === subscription) this.subscription = undefined;
      this.options.logger.warn({ err: error }, 'could not follow task events');
      throw new UnavailableError('events are unavailable: the database did not answer');
    }
  }

  private async subscribeFeeds(): Promise<() => void> {
    const [tasks, proplets] = await Promise.allSettled([
      this.tasks.subscribe({
        event: (event) => this.deliverTask(event),
        resync: (reason) => this.deliverAll(sseEvent('resync', { reason })),
      }),
      this.proplets.subscribe((event) => this.deliverProplet(event)),
    ]);
    if (tasks.status === 'fulfilled' && proplets.status === 'fulfilled')
      return () => {
        tasks.value();
        proplets.value();
      };
    if (tasks.status === 'fulfilled') tasks.value();
    if (proplets.status === 'fulfilled') proplets.value();
    throw tasks.status === 'rejected' ? tasks.reason : (proplets as PromiseRejectedResult).reason;
  }

  /** What a new client is sent before live events: see the README's description of the stream. */
  private async catchUp(request: EventStreamRequest): Promise<CatchUp> {
    // Read at once after subscribing: live events from here on reach the client through `pending`.
    const position = this.tasks.position;
    const periodStart = this.tasks.periodStart;
    const frames: string[] = [];
    const replayed = new Set<number>();
    const snapshots = new Map<string, TaskEvent>();
    let resumed = false;
    const follows = (taskId: string) => !request.taskIds || request.taskIds.includes(taskId);

    const after = request.lastEventId;
    if (after !== undefined && after >= periodStart && after <= position) {
      const oldest = await this.tasks.oldestKept();
      if (oldest === undefined || oldest <= after + 1) {
        const missed = await this.tasks.replay(after, position, this.options.maxReplayEvents + 1);
        if (missed.length <= this.options.maxReplayEvents) {
          resumed = true;
          for (const event of missed) {
            replayed.add(event.id!);
            if (follows(event.taskId)) frames.push(taskFrame(event));
          }
        }
      }
    }
    if (request.taskIds && !resumed) {
      const found = await this.tasks.snapshot(request.taskIds);
      for (const event of found) snapshots.set(event.taskId, event);
      const missing = request.taskIds.find((id) => !snapshots.has(id));
      if (missing !== undefined) throw new NotFoundError(`task ${missing} not found`);
      for (const id of request.taskIds) frames.push(taskFrame(snapshots.get(id)!));
    } else if (after !== undefined && !resumed) {
      frames.push(
        sseEvent('resync', { reason: 'the changes after the given event id are not all kept here' }),
      );
    }
    frames.push(sseEvent('ready', { resumed, position }, position));
    return {
      frames,
      covers: ({ task }) => {
        if (!task) return false;
        if (replayed.has(task.id!)) return true;
        const snapshot = snapshots.get(task.taskId);
        if (!snapshot) return false;
        const [at, seen] = [task.time.getTime(), snapshot.time.getTime()];
        return (
          at < seen || (at === seen && task.state === snapshot.state && task.attempt === snapshot.attempt)
        );
      },
    };
  }

  private deliverTask(event: TaskEvent): void {
    let frame: string | undefined;
    for (const client of this.clients) {
      if (client.taskIds && !client.taskIds.has(event.taskId)) continue;
      frame ??= taskFrame(event);
      this.send(client, { frame, task: event });
    }
  }

  private deliverProplet(event: PropletEvent): void {
    let frame: string | undefined;
    for (const client of this.clients) {
      // A stream that follows tasks by id is about those tasks only.
      if (client.taskIds) continue;
      frame ??= propletFrame(event);
      this.send(client, { frame });
    }
  }

  private deliverAll(frame: string): void {
    for (const client of this.clients) this.send(client, { frame });
  }

  private send(client: Client, item: Outgoing): void {
    if (!client.open) return;
    if (client.pending) {
      if (client.pending.length >= this.options.maxPendingEvents)
        this.drop(client, 'too many events while its catch-up was sent');
      else client.pending.push(item);
      return;
    }
    this.write(client, item.frame);
  }

  private write(client: Client, chunk: string): void {
    client.res.write(chunk);
    if (client.res.writableLength > this.options.maxBufferedBytes) this.drop(client, 'it reads too slowly');
  }

  private beat(): void {
    const comment = sseComment('keep-alive');
    for (const client of this.clients) if (client.open && !client.pending) this.write(client, comment);
  }

  private drop(client: Client, reason: string): void {
    this.options.logger.warn(
      { reason, bufferedBytes: client.res.writableLength },
      'event stream client disconnected: it fell behind',
    );
    eventStreamDrops.inc();
    this.remove(client);
    client.res.destroy();
  }

  /** Writes in order, waiting whenever the socket's buffer is full: a catch-up may be large. */
  private async writeAll(client: Client, chunks: string[]): Promise<void> {
    for (const chunk of chunks) {
      if (!client.open) return;
      if (!client.res.write(chunk)) await drained(client.res);
    }
  }
}

function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
