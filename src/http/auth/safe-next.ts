/** Where a login goes when it was not sent from a page, or its `next` is refused. */
export const DEFAULT_NEXT = '/';

const MAX_NEXT_LENGTH = 2_048;
const PLACEHOLDER_ORIGIN = 'http://manager.invalid';

const hasControlCharacter = (text: string) =>
  [...text].some((character) => character.charCodeAt(0) < 0x20 || character.charCodeAt(0) === 0x7f);

/**
 * Where to send a browser after it logged in: only a path on this site. Anything else would make the login
 * form an open redirect and is replaced by the default: an absolute URL, `//evil.example`, a backslash
 * anywhere (browsers read `/\evil.example` as `//evil.example`), control characters (which they strip).
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > MAX_NEXT_LENGTH) return DEFAULT_NEXT;
  if (!next.startsWith('/') || next.includes('\\') || hasControlCharacter(next)) return DEFAULT_NEXT;
  if (!URL.canParse(next, PLACEHOLDER_ORIGIN)) return DEFAULT_NEXT;
  const url = new URL(next, PLACEHOLDER_ORIGIN);
  if (url.origin !== PLACEHOLDER_ORIGIN) return DEFAULT_NEXT;
  return `${url.pathname}${url.search}${url.hash}`;
}
