import {
  createPostgresBackend,
  Queue,
  Worker,
  type PostgresPoolConfig,
  type Processor,
  type QueueOptions,
  type Telemetry,
  type WorkerOptions,
} from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * Where BullMQ keeps the queues: Redis, or BullMQ's Postgres backend for deployments without a Redis. The
 * same Queue and Worker code runs on both. With tracing on, `telemetry` gives each job a span and carries
 * the trace context of whoever added it (in the job's options) to the worker that processes it.
 */
export type QueueConnection = { telemetry?: Telemetry } & (
  | { store: 'redis'; redis: Redis; prefix: string }
  | {
      store: 'postgres';
      postgres: PostgresPoolConfig;
      /**
       * Seconds an idle worker waits before looking for jobs again. Postgres wakes workers with NOTIFY, so
       * this matters only where NOTIFY does not reach them (PGlite behind its socket multiplexer).
       */
      pollSeconds?: number;
    }
);

type SharedOptions = Omit<QueueOptions, 'connection' | 'prefix'>;

/**
 * The Postgres backend's classes are typed by backend; the operations this code base uses are the same on
 * both, so they are handled through the Redis-typed classes.
 */
export function createQueue(name: string, connection: QueueConnection, options: SharedOptions): Queue {
  const telemetry = telemetryOf(connection);
  if (connection.store === 'redis')
    return new Queue(name, {
      ...options,
      ...telemetry,
      connection: connection.redis,
      prefix: connection.prefix,
    });
  return new Queue(
    name,
    { ...options, ...telemetry, connection: connection.postgres },
    createPostgresBackend,
  ) as unknown as Queue;
}

export function createWorker(
  name: string,
  processor: Processor,
  connection: QueueConnection,
  options: Omit<WorkerOptions, 'connection' | 'prefix'>,
): Worker {
  const telemetry = telemetryOf(connection);
  if (connection.store === 'redis')
    return new Worker(name, processor, {
      ...options,
      ...telemetry,
      connection: connection.redis,
      prefix: connection.prefix,
    });
  const { pollSeconds } = connection;
  return new Worker(
    name,
    processor,
    {
      ...options,
      ...telemetry,
      connection: connection.postgres,
      ...(pollSeconds === undefined ? {} : { drainDelay: pollSeconds }),
    },
    pollSeconds === undefined ? createPostgresBackend : pollingBackend(pollSeconds),
  ) as unknown as Worker;
}

/** Without tracing BullMQ gets no telemetry option at all, so it takes none of its telemetry paths. */
function telemetryOf(connection: QueueConnection): { telemetry?: Telemetry } {
  return connection.telemetry ? { telemetry: connection.telemetry } : {};
}

/**
 * A worker with a delayed job ahead (a repeatable sweep, say) blocks until that job is due, counting on
 * NOTIFY to wake it for anything added meanwhile. Where NOTIFY does not reach it, a job added to its queue
 * would wait that long (up to an hour), so its longest block is the poll interval.
 */
function pollingBackend(pollSeconds: number): typeof createPostgresBackend {
  return (...args) => {
    const backend = createPostgresBackend(...args);
    Object.defineProperty(backend, 'maximumBlockTimeout', { get: () => pollSeconds });
    return backend;
  };
}
