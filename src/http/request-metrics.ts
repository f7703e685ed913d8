import type { RequestHandler } from 'express';
import {
  httpRequestDuration,
  httpRequests,
  upstreamRequestCount,
  upstreamRequestLatency,
} from '../observability/metrics.ts';
import { routePattern } from './route-pattern.ts';
import { upstreamOperation } from './upstream-operations.ts';

/** Counts and times every answered request, by route pattern (see trackRoute, which must come first). */
export const requestMetrics: RequestHandler = (req, res, next) => {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const route = routePattern(res);
    const labels = { method: req.method, route, status: String(res.statusCode) };
    httpRequests.inc(labels);
    httpRequestDuration.observe(labels, seconds);
    const operation = upstreamOperation(req.method, route);
    if (operation) {
      upstreamRequestCount.inc({ method: operation });
      upstreamRequestLatency.observe({ method: operation }, seconds * 1e6);
    }
  });
  next();
};
