// Module resolution hooks that write down every module a process resolves, one URL a line, so a test can
// tell what a process loaded (ES modules have no require.cache to look at).
import { appendFileSync } from 'node:fs';

let file;

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}
