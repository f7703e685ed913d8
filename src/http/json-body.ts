import express, { type RequestHandler } from 'express';
import { ValidationError } from '../domain/errors.ts';

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

/** Middleware for routes that take a JSON object body. */
export function jsonBody(limitBytes: number): RequestHandler[] {
  return [requireJsonContentType, express.json({ limit: limitBytes, type: () => true }), requireObject];
}
