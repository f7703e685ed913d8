import type { IncomingHttpHeaders } from 'node:http';
import { roleAllows, rolesWith, type Access } from '../../domain/access.ts';
import { credentialsOf, type Credentials } from './credentials.ts';
import { isReadMethod, requiredAccess } from './required-access.ts';
import { isCrossSite } from './same-origin.ts';
import type { TokenHolder, TokenVerifier } from './token-verifier.ts';

export interface AccessRequest {
  method: string;
  /** Without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
}

export type AccessDecision =
  | { outcome: 'allowed'; holder: TokenHolder; via: Credentials['via'] }
  /** 401: no token, or one that is not valid. */
  | { outcome: 'unauthenticated'; message: string; via: Credentials['via'] }
  /** 403: a valid token whose role may not, or a cookie sent on another site's behalf. */
  | { outcome: 'forbidden'; holder: TokenHolder; message: string };

const NEEDS: Record<Access, string> = {
  read: 'a token',
  operate: rolesWith('operate').join(' or '),
  administer: rolesWith('administer').join(' or '),
};

/**
 * Whether a request may go on, with the token it presented; the one rule for the api (authentication.ts)
 * and for /metrics of worker processes (prometheus-server.ts).
 */
export function decideAccess(verifier: TokenVerifier, request: AccessRequest): AccessDecision {
  const credentials = credentialsOf(request.headers);
  if (credentials.token === undefined)
    return {
      outcome: 'unauthenticated',
      message: 'authentication required: send Authorization: Bearer <token>',
      via: credentials.via,
    };
  const holder = verifier.verify(credentials.token);
  if (!holder) return { outcome: 'unauthenticated', message: 'invalid token', via: credentials.via };
  const access = requiredAccess(request.method, request.path);
  if (!roleAllows(holder.role, access))
    return {
      outcome: 'forbidden',
      holder,
      message: `token ${holder.name} has the role ${holder.role}, which may not ${request.method} ${request.path} (that needs ${NEEDS[access]})`,
    };
  if (credentials.via === 'cookie' && !isReadMethod(request.method) && isCrossSite(request.headers))
    return {
      outcome: 'forbidden',
      holder,
      message: 'cross-site request refused: changes made with the login cookie must come from this site',
    };
  return { outcome: 'allowed', holder, via: credentials.via };
}
