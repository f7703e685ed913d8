import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

const LOGIN_OFF = 'data-login="off"';

/**
 * index.html as served: with tokens required (`login`), marked so that the page offers to log out. Read
 * once; Express's ETag still lets browsers revalidate it.
 */
function indexPage(login: boolean): string {
  const page = readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8');
  if (!page.includes(LOGIN_OFF)) throw new Error(`dashboard index.html lost its ${LOGIN_OFF} marker`);
  return login ? page.replace(LOGIN_OFF, 'data-login="on"') : page;
}

/**
 * The dashboard at `/`, its files under `/dashboard/`, and the task counts it shows. `login`: tokens are
 * required, and the page has a log-out button.
 */
export function dashboardRoutes(counts: TaskCountService, options: { login: boolean }): Router {
  const router = Router();

  const page = indexPage(options.login);
  router
    .route('/')
    .get((_req, res) => {
      setPageHeaders(res);
      res.type('html').send(page);
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
