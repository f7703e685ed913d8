import express, { Router, type Response } from 'express';
import type { Logger } from '../../observability/logger.ts';
import { methodNotAllowed } from '../errors.ts';
import { LOGIN_PATH } from '../page-paths.ts';
import { clearedSessionCookie, sessionCookie, WWW_AUTHENTICATE } from './credentials.ts';
import { LOGIN_PAGE_POLICY, loginPage } from './login-page.ts';
import { safeNext } from './safe-next.ts';
import { isCrossSite } from './same-origin.ts';
import { setTokenHolder } from './token-holder.ts';
import type { TokenVerifier } from './token-verifier.ts';

/** A token and a path: a few hundred bytes. */
const FORM_LIMIT = '8kb';

const REFUSED = 'That token is not valid.';

function sendPage(res: Response, status: number, page: string): void {
  res
    .status(status)
    .set({ 'Content-Security-Policy': LOGIN_PAGE_POLICY, 'Cache-Control': 'no-store' })
    .type('html')
    .send(page);
}

/**
 * The browser login (only with tokens configured): GET /login shows the form, POST /login checks the
 * token and stores it in the session cookie, POST /logout removes it. Served without authentication (as
 * is the style sheet of the form, see authentication.ts). A login or logout sent from another site is refused, so that no site
 * can log a browser in under a token of its choosing, or out.
 */
export function loginRoutes(verifier: TokenVerifier, logger: Logger): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: 10 });

  router
    .route(LOGIN_PATH)
    .get((req, res) => {
      // At /login/ the page's relative URLs would point one level too deep.
      if (req.path.endsWith('/')) {
        const query = req.originalUrl.indexOf('?');
        res.redirect(301, `../login${query < 0 ? '' : req.originalUrl.slice(query)}`);
        return;
      }
      sendPage(res, 200, loginPage({ next: safeNext(req.query.next) }));
    })
    .post(form, (req, res) => {
      const fields = (req.body ?? {}) as Record<string, unknown>;
      const next = safeNext(fields.next);
      if (isCrossSite(req.headers)) {
        res.status(403).json({ error: 'cross-site login refused' });
        return;
      }
      const token = typeof fields.token === 'string' ? fields.token : '';
      const holder = token === '' ? undefined : verifier.verify(token);
      if (!holder) {
        logger.warn({ address: req.socket.remoteAddress }, 'login refused: invalid token');
        res.set('WWW-Authenticate', WWW_AUTHENTICATE);
        sendPage(res, 401, loginPage({ next, error: REFUSED }));
        return;
      }
      setTokenHolder(res, holder);
      logger.info({ token: holder.name, role: holder.role }, 'logged in');
      res.set('Set-Cookie', sessionCookie(token, req.secure)).redirect(303, next);
    })
    .all(methodNotAllowed);

  router
    .route('/logout')
    .post((req, res) => {
      if (isCrossSite(req.headers)) {
        res.status(403).json({ error: 'cross-site logout refused' });
        return;
      }
      res.set('Set-Cookie', clearedSessionCookie(req.secure)).redirect(303, LOGIN_PATH);
    })
    .all(methodNotAllowed);

  return router;
}
