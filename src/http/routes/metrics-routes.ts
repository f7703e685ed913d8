import { Router } from 'express';
import type { MetricsService } from '../../services/metrics-service.ts';
import { methodNotAllowed } from '../errors.ts';
import { handle } from '../handle.ts';
import { requireIdentifier } from '../schemas/ids.ts';
import { toPropletMetricsJson, toTaskMetricsJson } from '../schemas/metrics-view.ts';
import { parseOpenPage } from '../schemas/pagination.ts';

/**
 * `GET /tasks/{id}/metrics` and `GET /proplets/{id}/metrics`: samples newest first. As upstream, the id is
 * only checked to be non-empty and an unknown owner has an empty page.
 */
export function metricsRoutes(metrics: MetricsService): Router {
  const router = Router();

  router
    .route('/tasks/:taskId/metrics')
    .get(
      handle(async (req, res) => {
        const id = requireIdentifier(req.params.taskId, 'task id');
        const page = parseOpenPage(req.query);
        const { metrics: samples, total } = await metrics.taskMetrics(id, page);
        res.json({ ...page, total, metrics: samples.map(toTaskMetricsJson) });
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/proplets/:propletId/metrics')
    .get(
      handle(async (req, res) => {
        const id = requireIdentifier(req.params.propletId, 'proplet id');
        const page = parseOpenPage(req.query);
        const { metrics: samples, total } = await metrics.propletMetrics(id, page);
        res.json({ ...page, total, metrics: samples.map(toPropletMetricsJson) });
      }),
    )
    .all(methodNotAllowed);

  return router;
}
