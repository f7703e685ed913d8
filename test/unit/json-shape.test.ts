import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identifierProblem, MAX_IDENTIFIER_LENGTH } from '../../src/domain/identifiers.ts';
import { describePath, jsonShapeProblem, MAX_JSON_DEPTH } from '../../src/domain/json-shape.ts';

/** `[[[…]]]` nested `depth` levels, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const refuseNul = { nul: 'refuse' } as const;

describe('jsonShapeProblem', () => {
  it('takes ordinary JSON, up to the depth limit', () => {
    for (const value of [null, 1, 'text', [], {}, { a: [1, { b: 'c' }] }, nested(MAX_JSON_DEPTH)])
      assert.equal(jsonShapeProblem(value, refuseNul), undefined, JSON.stringify(value));
  });

  it('finds nesting one level too deep, and names where', () => {
    const problem = jsonShapeProblem({ metadata: nested(MAX_JSON_DEPTH) }, refuseNul);
    assert.equal(problem?.kind, 'depth');
    assert.equal(problem?.path[0], 'metadata');
    assert.match(problem?.message ?? '', /nested too deep/);
  });

  it('walks a value nested far deeper than a stack would take without overflowing', () => {
    // JSON.parse builds this without recursion; a recursive walk (or JSON.stringify) overflows on it.
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    assert.throws(() => JSON.stringify(deep), RangeError);
    assert.equal(jsonShapeProblem(deep, refuseNul)?.kind, 'depth');
  });

  it('refuses keys that would rewrite a prototype once copied', () => {
    const proto = JSON.parse('{"metadata":{"__proto__":{"admin":true}}}') as unknown;
    assert.deepEqual(jsonShapeProblem(proto, refuseNul), {
      kind: 'prototype',
      path: ['metadata', '__proto__'],
      message: 'this key is not allowed',
    });
    const constructor = JSON.parse('{"env":{"constructor":{"prototype":{"x":1}}}}') as unknown;
    assert.equal(jsonShapeProblem(constructor, refuseNul)?.kind, 'prototype');
    // A plain key named constructor is data like any other.
    assert.equal(jsonShapeProblem({ metadata: { constructor: 'ACME' } }, refuseNul), undefined);
  });

  it('refuses NUL characters in strings and keys when asked to, naming the field', () => {
    assert.deepEqual(jsonShapeProblem({ inputs: ['a', 'b\u0000'] }, refuseNul)?.path, ['inputs', 1]);
    assert.deepEqual(jsonShapeProblem({ env: { 'K\u0000': 'v' } }, refuseNul)?.path, ['env', 'K\u0000']);
    assert.equal(jsonShapeProblem('\u0000', refuseNul)?.kind, 'nul');
    assert.equal(jsonShapeProblem({ results: 'a\u0000b' }, { nul: 'allow' }), undefined);
  });

  it('cuts long keys when it names a path', () => {
    const named = describePath(['metadata', 'k'.repeat(10_000), 3]);
    assert.ok(named.length < 120, named);
    assert.match(named, /^metadata\.k+….3$/);
  });
});

describe('identifierProblem', () => {
  it('takes the ids proplets have: UUIDs, host names, entity ids', () => {
    for (const id of ['0b9c1b4e-5a1d-4a52-9d52-3c1f1f1e9a10', 'proplet-1', 'edge.node_7:a', 'ñandú'])
      assert.equal(identifierProblem(id), undefined, id);
    assert.equal(identifierProblem('p'.repeat(MAX_IDENTIFIER_LENGTH)), undefined);
  });

  it('refuses empty, long, whitespace, control and invisible characters', () => {
    for (const id of [
      '',
      'p'.repeat(MAX_IDENTIFIER_LENGTH + 1),
      ' p',
      'p q',
      'p\u0000',
      'p\n',
      'p\u007f',
      'p\u0085',
      'p\u200b',
      'p\u202e',
      'p\u2028',
      'p\ud800',
    ])
      assert.ok(identifierProblem(id), JSON.stringify(id));
  });
});
