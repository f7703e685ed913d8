import type { Request, RequestHandler } from 'express';
import { decideAccess } from './access-decision.ts';
import { WWW_AUTHENTICATE } from './credentials.ts';
import { isPagePath, LOGIN_PATH, LOGIN_STYLE_SHEET } from '../page-paths.ts';
import { isReadMethod } from './required-access.ts';
import { setTokenHolder } from './token-holder.ts';
import type { TokenVerifier } from './token-verifier.ts';

/**
 * A person opening a page, rather than a script or a program: browsers name text/html in the Accept header
 * of a navigation; curl's default, any type (which req.accepts would count as HTML), is not a browser.
 */
function opensPage(req: Request): boolean {
  const accept = req.headers.accept?.toLowerCase() ?? '';
  return isReadMethod(req.method) && isPagePath(req.path) && accept.includes('text/html');
}

/** The login form, sent back here once logged in. */
export function loginLocation(next: string): string {
  return `${LOGIN_PATH}?next=${encodeURIComponent(next)}`;
}

/**
 * Every request that reaches this needs a valid token (bearer or the login cookie) whose role allows it:
 * 401 without one (a browser opening a page is sent to the login form instead), 403 when the role does not
 * allow it. Mounted after /health and the login routes, and before every other route, so an unknown path
 * is a 404 only for those who may know.
 */
export function authentication(verifier: TokenVerifier): RequestHandler {
  return (req, res, next) => {
    // The login form's look, needed before there is a cookie.
    if (req.path === LOGIN_STYLE_SHEET && isReadMethod(req.method)) {
      next();
      return;
    }
    const decision = decideAccess(verifier, { method: req.method, path: req.path, headers: req.headers });
    switch (decision.outcome) {
      case 'allowed':
        setTokenHolder(res, decision.holder);
        next();
        return;
      case 'forbidden':
        setTokenHolder(res, decision.holder);
        res.status(403).json({ error: decision.message });
        return;
      case 'unauthenticated':
        if (opensPage(req)) {
          res.redirect(303, loginLocation(req.originalUrl));
          return;
        }
        res.status(401).set('WWW-Authenticate', WWW_AUTHENTICATE).json({ error: decision.message });
    }
  };
}
