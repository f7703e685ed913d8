import type { Access } from '../../domain/access.ts';
import { isUnder, QUEUE_BOARD_PATH } from '../page-paths.ts';

/** The resources operators may change. */
const OPERATED = ['/tasks', '/jobs', '/workflows', '/proplets'];

const READ_METHODS = new Set(['GET', 'HEAD']);

/** GET and HEAD: what every role may do, and what changes nothing. */
export function isReadMethod(method: string): boolean {
  return READ_METHODS.has(method.toUpperCase());
}

/**
 * The path as Express may match it: its routing ignores case (`/ADMIN/QUEUES` reaches Bull Board), so the
 * rules must too. Percent-escapes are decoded and repeated slashes collapsed so that no spelling of a path
 * is judged less strictly than the one it stands for; a path that does not decode is judged as it is.
 */
function normalised(path: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // A malformed escape: Express will not match it to any route either.
  }
  return decoded.toLowerCase().replace(/\/{2,}/g, '/');
}

/**
 * The access a request needs, from its method and path alone (before routing, so that a path that does not
 * exist is refused like one that does, and an unauthenticated client learns nothing of the routes).
 */
export function requiredAccess(method: string, path: string): Access {
  const normal = normalised(path);
  // Bull Board's page, its files and its API alike (see Access).
  if (isUnder(normal, QUEUE_BOARD_PATH)) return 'administer';
  if (isReadMethod(method)) return 'read';
  if (OPERATED.some((prefix) => isUnder(normal, prefix))) return 'operate';
  return 'administer';
}
