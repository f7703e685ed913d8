import type { RequestHandler } from 'express';
import type { Logger } from '../observability/logger.ts';
import { tokenHolderOf } from './auth/token-holder.ts';
import { routePattern } from './route-pattern.ts';

/** Polled by machines every few seconds: their lines would drown the others at info. */
const PROBES = new Set(['/metrics', '/health']);

/**
 * One log line per request: method, route pattern (so that ids do not explode the cardinality of log
 * queries), path without its query (which may carry what has no place in logs), status and duration.
 * Bodies and headers are never logged: they carry Wasm and credentials; the name of the token the
 * request authenticated with is (`token`), never the token.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = routePattern(res);
      const holder = tokenHolderOf(res);
      const fields = {
        method: req.method,
        route,
        path: req.originalUrl.split('?')[0],
        status: res.statusCode,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        ...(holder ? { token: holder.name } : {}),
      };
      if (PROBES.has(route) && res.statusCode < 400) logger.debug(fields, 'request');
      else logger.info(fields, 'request');
    });
    next();
  };
}
