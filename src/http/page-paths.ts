/**
 * Where the pages for people are served. Authentication treats them apart: a browser opening one without
 * credentials is sent to the login form, and Bull Board is for admins only.
 */
export const QUEUE_BOARD_PATH = '/admin/queues';
export const LOGIN_PATH = '/login';
/** The login form's look: the dashboard's style sheet, served without authentication (it holds no data). */
export const LOGIN_STYLE_SHEET = '/dashboard/dashboard.css';

/** The dashboard is `/` with its files under /dashboard; the API reference; Bull Board. */
const PAGE_PREFIXES = ['/dashboard', '/docs', QUEUE_BOARD_PATH];

export const isUnder = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Whether a path is a page or a file of one (routing ignores case, so this does too). */
export function isPagePath(path: string): boolean {
  const lower = path.toLowerCase();
  return lower === '/' || PAGE_PREFIXES.some((prefix) => isUnder(lower, prefix));
}
