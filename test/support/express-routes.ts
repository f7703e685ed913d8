import type { Express } from 'express';

/** A route an Express app serves, with its path in OpenAPI's form (`/tasks/{taskId}`). */
export interface ServedRoute {
  method: string;
  path: string;
}

/** What Express 5's router (router 2.x) keeps of each layer; read only by this walk. */
interface Layer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  name?: string;
}

const join = (prefix: string, path: string) => {
  const joined = `${prefix}/${path}`.replace(/\/+/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
};

const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/**
 * Every route of the app, walking its routers as Express matches them, and the paths where something else
 * is mounted (an Express app of its own, such as Bull Board's), which this walk does not enter.
 */
export function servedRoutes(app: Express): { routes: ServedRoute[]; mounts: string[] } {
  const routes: ServedRoute[] = [];
  const mounts: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const path = typeof layer.rawPath === 'string' ? layer.rawPath : '/';
      if (layer.route) {
        if (typeof layer.route.path !== 'string') throw new Error('a route without a string path');
        const full = openApiPath(join(prefix, layer.route.path));
        // `.all()` (405 for every other method) is not an operation of its own.
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all'))
          routes.push({ method, path: full });
      } else if (layer.handle?.stack) walk(layer.handle.stack, join(prefix, path));
      else if (layer.name === 'mounted_app') mounts.push(join(prefix, path));
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return { routes, mounts };
}
