import type { RequestHandler, Response } from 'express';

/** What requests that no route matched (404s, static files) are labelled with. */
export const UNMATCHED = 'unmatched';

const PATTERN = 'routePattern';

/**
 * Records the pattern of the route a request matched (`/tasks/:taskId/start`), for logs and metrics that
 * must not carry ids. Express sets `req.route` when a route matches, while `req.baseUrl` is still the
 * router's mount path; by the time the response finishes, a request whose handler failed has left the
 * router and its baseUrl is reset. So the pattern is taken at the moment the route is set. Must come
 * before any router.
 */
export const trackRoute: RequestHandler = (req, res, next) => {
  let route: unknown;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: unknown) => {
      route = value;
      // Our routes have string paths; a mounted app may use arrays or expressions.
      const path = (value as { path?: string | RegExp | Array<string | RegExp> } | undefined)?.path;
      if (path === undefined) return;
      const text = Array.isArray(path) ? path.map(String).join('|') : String(path);
      res.locals[PATTERN] = `${req.baseUrl}${text === '/' ? '' : text}` || '/';
    },
  });
  next();
};

/** The route pattern the request matched, or UNMATCHED. */
export function routePattern(res: Response): string {
  const pattern: unknown = res.locals[PATTERN];
  return typeof pattern === 'string' ? pattern : UNMATCHED;
}
