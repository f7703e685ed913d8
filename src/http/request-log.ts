import type { RequestHandler } from 'express';
import type { Logger } from '../observability/logger.ts';

/** One log line per request, with the matched route so ids do not explode the cardinality of log queries. */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      logger.info(
        {
          method: req.method,
          path: req.originalUrl.split('?')[0],
          route: route ? `${req.baseUrl}${route === '/' ? '' : route}` || '/' : undefined,
          status: res.statusCode,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    next();
  };
}
