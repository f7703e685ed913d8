import type { IncomingHttpHeaders } from 'node:http';

/** Sec-Fetch-Site values of requests a page of this very origin did not start. */
const OTHER_SITES = new Set(['cross-site', 'same-site']);

/**
 * Whether a browser sent this request on behalf of another site (or a sibling subdomain). The session
 * cookie is SameSite=Strict, so browsers do not attach it to such requests in the first place; this is the
 * second line, for browsers that get SameSite wrong. Browsers say where a request comes from in
 * Sec-Fetch-Site (which scripts cannot set) and in Origin, sent with every POST, PUT and DELETE; Origin is
 * `null` from opaque origins, and also from this site's own pages under a no-referrer policy, so `null` is
 * taken as this site only when Sec-Fetch-Site says same-origin. Only the host of an Origin is compared: a
 * proxy that ends TLS makes the scheme differ, and the host of the request is what the browser addressed.
 */
export function isCrossSite(headers: IncomingHttpHeaders): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && OTHER_SITES.has(site)) return true;
  const origin = headers.origin;
  if (origin === undefined) return false;
  if (origin === 'null') return site !== 'same-origin';
  if (!URL.canParse(origin)) return true;
  return new URL(origin).host !== headers.host?.toLowerCase();
}
