/**
 * Errors a use case raises on purpose. Each carries its HTTP status, so the HTTP layer maps them in one
 * place; anything else is an unexpected failure (500, logged at error level).
 */
export abstract class DomainError extends Error {
  abstract readonly status: number;
}

export class ValidationError extends DomainError {
  override name = 'ValidationError';
  readonly status = 400;
}

export class NotFoundError extends DomainError {
  override name = 'NotFoundError';
  readonly status = 404;
  constructor(message = 'not found') {
    super(message);
  }
}

export class ConflictError extends DomainError {
  override name = 'ConflictError';
  readonly status = 409;
}

/** A dependency (Postgres, Redis, the broker) did not answer; the client may retry. */
export class UnavailableError extends DomainError {
  override name = 'UnavailableError';
  readonly status = 503;
}

/** A request body beyond what the manager accepts (413). */
export class PayloadTooLargeError extends DomainError {
  override name = 'PayloadTooLargeError';
  readonly status = 413;
}

/** The proplet answered with an error (an invocation that failed there). */
export class BadGatewayError extends DomainError {
  override name = 'BadGatewayError';
  readonly status = 502;
}

/** The proplet did not answer in time. */
export class GatewayTimeoutError extends DomainError {
  override name = 'GatewayTimeoutError';
  readonly status = 504;
}
