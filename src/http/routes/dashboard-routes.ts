import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import express, { Router } from 'express';
import { stateName } from '../../domain/task-state.ts';
import type { TaskCountService } from '../../services/task-count-service.ts';
import { methodNotAllowed } from '../errors.ts';
import { handle } from '../handle.ts';
import { pagePolicy } from '../security-headers.ts';

/** The page, its script and its style sheet: plain files, served as they are (no build step). */
const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url));

/**
 * The page inserts only text (never markup) into itself; this policy is the second line of defence: no
 * script, style or connection but the manager's own, no inline script, no form submitted by the browser
 * (the page's forms are sent by its script), no framing. Helmet's headers (nosniff, no referrer) come
 * with every response.
 */
const CONTENT_SECURITY_POLICY = pagePolicy({
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self' data:",
  'connect-src': "'self'",
  'form-action': "'none'",
});

const PAGE_HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  // Small files that change with the manager's version: revalidated (ETag) on every load.
  'Cache-Control': 'no-cache',
};

function setPageHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) res.setHeader(name, value);
}

/** The dashboard at `/`, its files under `/dashboard/`, and the task counts it shows. */
export function dashboardRoutes(counts: TaskCountService): Router {
  const router = Router();

  router
    .route('/')
    .get((_req, res, next) => {
      setPageHeaders(res);
      res.sendFile('index.html', { root: DASHBOARD_DIR }, (error) => {
        if (error) next(error);
      });
    })
    .all(methodNotAllowed);

  router
    .route('/dashboard/summary')
    .get(
      handle(async (_req, res) => {
        const states = await counts.countsByState();
        res.json({
          total: states.reduce((sum, { count }) => sum + count, 0),
          states: states.map(({ state, count }) => ({ state, name: stateName(state), count })),
        });
      }),
    )
    .all(methodNotAllowed);

  // Unknown files fall through to the API's JSON 404.
  router.use(
    '/dashboard',
    express.static(DASHBOARD_DIR, {
      index: false,
      setHeaders: setPageHeaders,
    }),
  );

  return router;
}
