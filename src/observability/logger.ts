import { DrizzleQueryError } from 'drizzle-orm';
import { pino, stdSerializers, type Logger as PinoLogger } from 'pino';

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

/**
 * JSON logs, one line per event. Fields that could carry Wasm bytes or secrets are removed wherever they
 * appear, as a second line of defence behind never passing them in the first place.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
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
        'authorization',
        '*.authorization',
      ],
      remove: true,
    },
  });
}
