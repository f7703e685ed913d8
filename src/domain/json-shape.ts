/**
 * Checks a parsed JSON value from outside (an HTTP body, an MQTT payload) for what the schemas cannot see
 * or would trip over: nesting deep enough to overflow a recursive walk (zod's, JSON.stringify's, Postgres's
 * jsonb parser), keys that rewrite prototypes once copied into an object (`__proto__`, or `constructor`
 * with a `prototype`), and NUL characters, which Postgres stores in no text or JSON column. The walk is
 * iterative, so the value that is too deep cannot overflow it.
 */

/** Far deeper than any task, metadata or result a person writes, far shallower than what overflows a stack. */
export const MAX_JSON_DEPTH = 32;

export interface JsonShapeProblem {
  kind: 'depth' | 'prototype' | 'nul';
  /** Where: the keys and indexes from the top (empty for the value itself). */
  path: Array<string | number>;
  message: string;
}

/** Keys longer than this are cut in messages: a hostile key must not make a huge answer or log line. */
const SHOWN_KEY_LENGTH = 100;

/** `tasks.0.name`: where a field is, as messages name it. */
export function describePath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((key) => {
      const text = String(key);
      return text.length > SHOWN_KEY_LENGTH ? `${text.slice(0, SHOWN_KEY_LENGTH)}…` : text;
    })
    .join('.');
}

interface Visit {
  value: unknown;
  depth: number;
  parent: Visit | undefined;
  key: string | number | undefined;
}

function pathOf(visit: Visit | undefined, last?: string | number): Array<string | number> {
  const path: Array<string | number> = last === undefined ? [] : [last];
  for (let at = visit; at?.key !== undefined; at = at.parent) path.unshift(at.key);
  return path;
}

function isContainer(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}

/** The first problem found, or undefined. `nul: 'allow'` leaves NUL characters to the caller. */
export function jsonShapeProblem(
  value: unknown,
  options: { maxDepth?: number; nul: 'refuse' | 'allow' },
): JsonShapeProblem | undefined {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const refuseNul = options.nul === 'refuse';
  const hasNul = (text: string) => refuseNul && text.includes('\u0000');
  if (typeof value === 'string')
    return hasNul(value) ? { kind: 'nul', path: [], message: 'must not contain NUL characters' } : undefined;
  if (!isContainer(value)) return undefined;
  const stack: Visit[] = [{ value, depth: 1, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    if (visit.depth > maxDepth)
      return {
        kind: 'depth',
        path: pathOf(visit),
        message: `nested too deep: at most ${maxDepth} levels of objects and lists`,
      };
    const entries: Iterable<[string | number, unknown]> = Array.isArray(visit.value)
      ? visit.value.entries()
      : Object.entries(visit.value as Record<string, unknown>);
    for (const [key, item] of entries) {
      if (typeof key === 'string') {
        if (key === '__proto__')
          return { kind: 'prototype', path: pathOf(visit, key), message: 'this key is not allowed' };
        if (key === 'constructor' && isContainer(item) && Object.hasOwn(item, 'prototype'))
          return {
            kind: 'prototype',
            path: pathOf(visit, key),
            message: 'a constructor with a prototype is not allowed',
          };
        if (hasNul(key))
          return { kind: 'nul', path: pathOf(visit, key), message: 'keys must not contain NUL characters' };
      }
      if (typeof item === 'string' && hasNul(item))
        return { kind: 'nul', path: pathOf(visit, key), message: 'must not contain NUL characters' };
      if (isContainer(item)) stack.push({ value: item, depth: visit.depth + 1, parent: visit, key });
    }
  }
  return undefined;
}
