import type { ErrorRequestHandler, RequestHandler } from 'express';
import { formatByteSize } from '../config/variable-types.ts';
import { DomainError } from '../domain/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { UNAVAILABLE_MESSAGES, unavailableDependency, unavailableReason } from './dependency-errors.ts';

/** Sent with every 503: a dependency restarting is usually back within seconds. */
const RETRY_AFTER_SECONDS = '5';

/** Errors thrown by Express's body parser carry a status and a type (and, for a body too large, the limit). */
interface BodyParserError {
  status?: number;
  type?: string;
  limit?: number;
}

/** The 413 answer, naming the limit and the variable that sets it. */
export function bodyTooLargeMessage(limitBytes: number): string {
  return `request body too large: at most ${formatByteSize(limitBytes)} (MANAGER_HTTP_MAX_BODY)`;
}

function bodyParserMessage(error: BodyParserError): string | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return 'malformed JSON body';
    case 'entity.too.large':
      return typeof error.limit === 'number' ? bodyTooLargeMessage(error.limit) : 'request body too large';
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return 'unsupported content encoding';
    case 'request.aborted':
      return 'request aborted';
    default:
      return undefined;
  }
}

/**
 * Postgres refuses some values the schemas let through (a data exception, class 22, such as a string
 * Postgres cannot store): that is the client's mistake, not the server's.
 */
function invalidValueMessage(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code !== 'string' || !cause.code.startsWith('22')) return undefined;
  return `invalid value provided: ${typeof cause.message === 'string' ? cause.message : 'rejected by the database'}`;
}

/** The one place errors become HTTP responses: `{"error": "..."}` with the status the error carries. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (error instanceof DomainError) {
      logger.warn(
        { method: req.method, path: req.path, status: error.status, error: error.message },
        'request refused',
      );
      if (error.status === 503) res.set('Retry-After', RETRY_AFTER_SECONDS);
      res.status(error.status).json({ error: error.message });
      return;
    }
    const dependency = unavailableDependency(error);
    if (dependency) {
      // Expected while a dependency restarts: warn, with the client library's words, not the stack.
      logger.warn(
        { method: req.method, path: req.path, status: 503, dependency, reason: unavailableReason(error) },
        'dependency unavailable',
      );
      if (!res.headersSent)
        res
          .status(503)
          .set('Retry-After', RETRY_AFTER_SECONDS)
          .json({ error: UNAVAILABLE_MESSAGES[dependency] });
      return;
    }
    const parserMessage = bodyParserMessage(error as BodyParserError);
    if (parserMessage) {
      const status = (error as BodyParserError).status ?? 400;
      logger.warn({ method: req.method, path: req.path, status, error: parserMessage }, 'request refused');
      res.status(status).json({ error: parserMessage });
      return;
    }
    const invalidValue = invalidValueMessage(error);
    if (invalidValue) {
      logger.warn(
        { method: req.method, path: req.path, status: 400, error: invalidValue },
        'request refused',
      );
      res.status(400).json({ error: invalidValue });
      return;
    }
    logger.error({ method: req.method, path: req.path, err: error }, 'request failed');
    if (!res.headersSent) res.status(500).json({ error: 'internal error' });
  };
}

export const notFound: RequestHandler = (_req, res) => {
  res.status(404).json({ error: 'not found' });
};

export const methodNotAllowed: RequestHandler = (_req, res) => {
  res.status(405).json({ error: 'method not allowed' });
};
