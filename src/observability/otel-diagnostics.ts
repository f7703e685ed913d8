import { diag, DiagLogLevel, type DiagLogFunction } from '@opentelemetry/api';
import type { Logger } from './logger.ts';

/** The SDK's error handler hands over errors as JSON text; its message is what a person needs. */
function readable(message: string): string {
  if (!message.startsWith('{')) return message;
  try {
    const parsed = JSON.parse(message) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : message;
  } catch {
    return message;
  }
}

/**
 * The SDK's own warnings and errors (a collector that refuses or does not answer, spans dropped from a full
 * buffer) as log lines of ours, at warn: the manager works on, but spans are being lost. Without a logger the
 * SDK says nothing, and spans vanish unseen.
 */
export function logOtelDiagnostics(logger: Logger): void {
  const log: DiagLogFunction = (message, ...args) => {
    const error = args.find((arg) => arg instanceof Error);
    logger.warn(error ? { err: error } : {}, `opentelemetry: ${readable(message)}`);
  };
  const quiet: DiagLogFunction = () => undefined;
  diag.setLogger(
    { error: log, warn: log, info: quiet, debug: quiet, verbose: quiet },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}
