import type { IncomingHttpHeaders } from 'node:http';

/**
 * Whether a browser sent this request on behalf of another site. The session cookie is SameSite=Strict, so
 * browsers do not attach it to such requests in the first place; this is the second line, for browsers
 * that get SameSite wrong. Browsers send Origin with every POST, PUT and DELETE (and `null` from opaque
 * origins, such as sandboxed frames); without one, Sec-Fetch-Site still tells. Only the host is compared:
 * a proxy that ends TLS makes the scheme differ, and the host of the request is what the browser addressed.
 */
export function isCrossSite(headers: IncomingHttpHeaders): boolean {
  const origin = headers.origin;
  if (origin === undefined) return headers['sec-fetch-site'] === 'cross-site';
  if (!URL.canParse(origin)) return true;
  return new URL(origin).host !== headers.host?.toLowerCase();
}
