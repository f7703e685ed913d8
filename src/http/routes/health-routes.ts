import { Router } from 'express';
import type { BuildInfo } from '../../observability/build-info.ts';
import type { HealthService } from '../../services/health-service.ts';
import { methodNotAllowed } from '../errors.ts';
import { handle } from '../handle.ts';

/** Upstream's health document, plus which dependency fails when one does (then 503). */
export function healthRoutes(health: HealthService, build: BuildInfo, instanceId: string): Router {
  const router = Router();
  router
    .route('/')
    .get(
      handle(async (_req, res) => {
        const report = await health.report();
        res.status(report.healthy ? 200 : 503).json({
          status: report.healthy ? 'pass' : 'fail',
          version: build.version,
          commit: build.commit,
          description: 'manager service',
          build_time: build.buildTime,
          instance_id: instanceId,
          checks: report.checks,
        });
      }),
    )
    .all(methodNotAllowed);
  return router;
}
