import express, { type Request, type RequestHandler } from 'express';
import { ValidationError } from '../domain/errors.ts';
import { describePath, jsonShapeProblem } from '../domain/json-shape.ts';

/** Upstream requires JSON bodies to be declared as such; the Go SDK always does. */
const requireJsonContentType: RequestHandler = (req, _res, next) => {
  if (!(req.headers['content-type'] ?? '').includes('application/json')) {
    next(new ValidationError('unsupported content type: expected application/json'));
    return;
  }
  next();
};

const requireObject: RequestHandler = (req, _res, next) => {
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    next(new ValidationError('malformed JSON body: expected a JSON object'));
    return;
  }
  next();
};

/** Too deep, a prototype key, a NUL character: refused before any schema or query sees the body. */
const requireSafeShape: RequestHandler = (req, _res, next) => {
  const problem = jsonShapeProblem(req.body, { nul: 'refuse' });
  if (problem) {
    const field = describePath(problem.path);
    next(new ValidationError(`invalid JSON body: ${field ? `${field}: ` : ''}${problem.message}`));
    return;
  }
  next();
};

/** Middleware for routes that take a JSON object body. */
export function jsonBody(limitBytes: number): RequestHandler[] {
  return [
    requireJsonContentType,
    express.json({ limit: limitBytes, type: () => true }),
    requireObject,
    requireSafeShape,
  ];
}

/** Upstream reads a request with no body (none, or Content-Length 0) as an empty one. */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** As jsonBody, for routes whose body is optional: without one, the body is `{}`. */
export function optionalJsonBody(limitBytes: number): RequestHandler[] {
  const whenPresent = jsonBody(limitBytes).map((handler): RequestHandler => (req, res, next) => {
    if (hasBody(req)) {
      handler(req, res, next);
      return;
    }
    req.body = {};
    next();
  });
  return whenPresent;
}
