import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * Helmet's headers on every response. The JSON API needs no content at all, so its Content-Security-Policy
 * allows nothing: a response that a browser is tricked into rendering can run nothing and cannot be framed.
 * Pages (the dashboard, /docs, Bull Board, /login) replace that policy with their own (pagePolicy).
 */

/** HSTS takes effect over HTTPS only; not for subdomains, which this manager does not speak for. */
const HSTS_MAX_AGE_SECONDS = 180 * 24 * 60 * 60;

export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    strictTransportSecurity: { maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: false },
    // The same as frame-ancestors 'none', for browsers that predate it.
    xFrameOptions: { action: 'deny' },
    // No referrer to other sites, but a real Origin on this site's own requests, which the check of
    // same-site changes (auth/same-origin.ts) reads: under no-referrer browsers send Origin: null.
    referrerPolicy: { policy: 'same-origin' },
  });
}

/**
 * A page's Content-Security-Policy header value: the directives given, on top of a base that allows
 * nothing that is not named, no <base> and no framing.
 */
export function pagePolicy(directives: Record<string, string>): string {
  const all: Record<string, string> = {
    'default-src': "'none'",
    'base-uri': "'none'",
    'frame-ancestors': "'none'",
    ...directives,
  };
  return Object.entries(all)
    .map(([name, value]) => `${name} ${value}`)
    .join('; ');
}

/** Middleware that gives what follows a page's policy instead of the API's. */
export function withPagePolicy(policy: string): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', policy);
    next();
  };
}
