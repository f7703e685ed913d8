import { DrizzleQueryError } from 'drizzle-orm';
import pg from 'pg';
import { QueueNotReadyError } from '../queue/queue-not-ready-error.ts';

/** A dependency a request may find away. The api never touches the broker: its commands go through queues. */
export type Dependency = 'postgres' | 'redis';

/** What the client is told (503); the names match /health's checks. */
export const UNAVAILABLE_MESSAGES: Record<Dependency, string> = {
  postgres: 'postgres is unavailable; try again',
  redis: 'the task queue (redis) is unavailable; try again',
};

/**
 * SQLSTATEs of a server that is away or on its way down or up: connection exceptions (class 08),
 * admin_shutdown and crash_shutdown (57P01, 57P02: it closed our connection), cannot_connect_now (57P03:
 * starting up or shutting down) and too_many_connections (53300).
 */
const POSTGRES_UNAVAILABLE = /^(08...|57P0[123]|53300)$/;

/**
 * Errors of the network under a client. Among the api's clients only pg rejects a call with one (ioredis
 * reports socket errors as events and fails commands with errors of its own; the api has no MQTT client).
 */
const SOCKET_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** pg and pg-pool say these with a plain Error: the connection was lost, or none could be had in time. */
const PG_CONNECTION_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
]);

/**
 * ioredis's plain Errors for a command that could not be served: its connection closed for good (the
 * process is shutting down), or no answer in time (commandTimeout). Its MaxRetriesPerRequestError, for a
 * command queued or in flight when a connection attempt failed, is not exported from the package: hence
 * the name.
 */
const REDIS_MESSAGES = new Set(['Connection is closed.', 'Command timed out']);

function postgresUnavailable(error: unknown): boolean {
  // A failed query: Drizzle names the statement and keeps pg's error as the cause.
  if (error instanceof DrizzleQueryError) return postgresUnavailable(error.cause);
  if (error instanceof pg.DatabaseError) return POSTGRES_UNAVAILABLE.test(error.code ?? '');
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && SOCKET_ERRORS.has(code)) return true;
  // Node's, when every address of the host failed.
  if (error instanceof AggregateError) return error.errors.some(postgresUnavailable);
  return PG_CONNECTION_MESSAGES.has(error.message);
}

function redisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.has(error.message);
}

/**
 * Which dependency an error says is away, or undefined when it says something else (a bug, a bad value):
 * the one place that reads the clients' errors, so the HTTP layer answers 503 naming it.
 */
export function unavailableDependency(error: unknown): Dependency | undefined {
  if (error instanceof QueueNotReadyError) return error.store;
  if (postgresUnavailable(error)) return 'postgres';
  if (redisUnavailable(error)) return 'redis';
  return undefined;
}

/** The client library's own words, for the log: safe to write, they hold no query parameters. */
export function unavailableReason(error: unknown): string {
  const cause = error instanceof DrizzleQueryError ? error.cause : error;
  // An AggregateError has no message of its own.
  return cause instanceof Error ? cause.message || cause.name : String(cause);
}
