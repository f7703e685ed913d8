import { Router } from 'express';
import type { PrometheusExposition } from '../../observability/prometheus.ts';
import { methodNotAllowed } from '../errors.ts';
import { handle } from '../handle.ts';

/**
 * `GET /metrics`: this process's series for Prometheus (upstream serves its registry here too). Not to be
 * confused with metrics-routes.ts, the samples proplets report about tasks and themselves.
 */
export function prometheusRoutes(exposition: PrometheusExposition): Router {
  const router = Router();
  router
    .route('/metrics')
    .get(
      handle(async (_req, res) => {
        const text = await exposition.text();
        res.set('content-type', exposition.contentType).send(text);
      }),
    )
    .all(methodNotAllowed);
  return router;
}
