import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * JSON logs, one line per event. Fields that could carry Wasm bytes or secrets are removed wherever they
 * appear, as a second line of defence behind never passing them in the first place.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'propeller-manager', ...base },
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
