import { DrizzleQueryError } from 'drizzle-orm';
import { pino, stdSerializers, type DestinationStream, type Logger as PinoLogger } from 'pino';
import PinoPretty from 'pino-pretty';

export type Logger = PinoLogger;

/**
 * Errors as pino shows them, except that a failed query is shown without its parameters: they may hold a
 * task's Wasm bytes or other client data that has no place in logs.
 */
export function serializeError(error: unknown): unknown {
  if (error instanceof DrizzleQueryError) {
    return {
      type: 'DrizzleQueryError',
      message: `Failed query: ${error.query}`,
      cause: error.cause instanceof Error ? serializeError(error.cause) : undefined,
    };
  }
  return error instanceof Error ? stdSerializers.err(error) : error;
}

export interface LoggerOptions {
  /** Lines for people (MANAGER_LOG_PRETTY): level, time and message first, colours on a terminal. */
  pretty?: boolean;
  /** Standard output unless given (tests read their own). */
  destination?: DestinationStream;
}

/**
 * JSON logs, one line per event. Fields that could carry Wasm bytes or secrets are removed wherever they
 * appear, as a second line of defence behind never passing them in the first place.
 */
export function createLogger(
  level: string,
  base: Record<string, unknown> = {},
  { pretty = false, destination }: LoggerOptions = {},
): Logger {
  const options = {
    level,
    base: { service: 'propeller-manager', ...base },
    serializers: { err: serializeError },
    redact: {
      paths: [
        'file',
        '*.file',
        'password',
        '*.password',
        'apiKey',
        '*.apiKey',
        // Credentials of HTTP requests, should headers ever reach a log line (the request log leaves them out).
        'authorization',
        '*.authorization',
        '*.headers.authorization',
        'cookie',
        '*.cookie',
        '*.headers.cookie',
        '["set-cookie"]',
        '*["set-cookie"]',
        '*.headers["set-cookie"]',
      ],
      remove: true,
    },
  };
  if (!pretty) return destination ? pino(options, destination) : pino(options);
  // In this thread and synchronous: no worker thread to start, and nothing lost when the process exits.
  const stream = PinoPretty({
    sync: true,
    colorize: destination === undefined && process.stdout.isTTY,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: true,
    ...(destination ? { destination } : {}),
  });
  return pino(options, stream);
}
