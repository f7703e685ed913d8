import assert from 'node:assert/strict';
import { inspect } from 'node:util';

/**
 * Loaded before every test file (test/run.ts). When `assert.ok(value)` fails without a message, Node
 * writes one by reading the source file at the call site and parsing it with acorn; under tsx the call
 * site's column is that of the compiled code, not of the .ts file, and that search can spin for minutes
 * (nodejs/node#52677): a failing assertion then looks like a test that hangs. A message of our own skips it.
 *
 * Plain JavaScript: worker threads (the reference proplet runs Wasm in them) inherit the --import flags but
 * not tsx's loader, so a .ts preload would fail in every one of them.
 */
const ok = assert.ok;
assert.ok = (value, message) =>
  ok(value, message ?? `expected a truthy value, got ${inspect(value, { depth: 2, breakLength: Infinity })}`);
