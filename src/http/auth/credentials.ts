import type { IncomingHttpHeaders } from 'node:http';

/** The browser's copy of its token, set by POST /login (login-routes.ts). */
export const SESSION_COOKIE = 'propeller_token';

export const WWW_AUTHENTICATE = 'Bearer realm="propeller"';

/** A token as the request presents it, and how: browsers send the cookie, other clients the header. */
export type Credentials = { token: string; via: 'bearer' | 'cookie' } | { token: undefined; via: 'none' };

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The request's credentials. A request with an Authorization header is judged by it alone, even when it is
 * not a bearer token (so `Basic …` is a wrong token, not a fallback to the cookie).
 */
export function credentialsOf(headers: IncomingHttpHeaders): Credentials {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization);
    return { token: match?.[1] ?? '', via: 'bearer' };
  }
  const cookie = sessionCookieOf(headers.cookie);
  return cookie === undefined ? { token: undefined, via: 'none' } : { token: cookie, via: 'cookie' };
}

/** The value of the session cookie in a Cookie header (RFC 6265: `name=value; name2=value2`). */
function sessionCookieOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0 || pair.slice(0, equals).trim() !== SESSION_COOKIE) continue;
    try {
      return decodeURIComponent(pair.slice(equals + 1).trim());
    } catch {
      // Not something POST /login set: a wrong token.
      return '';
    }
  }
  return undefined;
}

/**
 * The Set-Cookie value that stores a token in the browser: out of reach of scripts (HttpOnly), never sent
 * with a request another site starts (SameSite=Strict), over HTTPS only when the page came over HTTPS
 * (Secure; a manager on plain HTTP on localhost must still be able to log in). A session cookie: it goes
 * when the browser closes.
 */
export function sessionCookie(token: string, secure: boolean): string {
  return cookieWith(encodeURIComponent(token), secure);
}

export function clearedSessionCookie(secure: boolean): string {
  return `${cookieWith('', secure)}; Max-Age=0`;
}

function cookieWith(value: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}
