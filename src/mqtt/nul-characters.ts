/** What stands in for a NUL character: the Unicode replacement character. */
const REPLACEMENT = '\uFFFD';

const replace = (text: string) => (text.includes('\u0000') ? text.replaceAll('\u0000', REPLACEMENT) : text);

/**
 * The value with every NUL character, in strings and in keys, replaced. Postgres stores none in text or
 * JSON, so a proplet's result or sample carrying one would fail every write and be lost; a result must not
 * be lost for one character, so it is kept with that character replaced.
 */
export function replaceNulCharacters<T>(value: T): T {
  if (typeof value === 'string') return replace(value) as T;
  if (Array.isArray(value)) return value.map(replaceNulCharacters) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [replace(key), replaceNulCharacters(item)]),
    ) as T;
  }
  return value;
}
