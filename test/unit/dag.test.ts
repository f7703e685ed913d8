import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { graphProblem, topologicalOrder } from '../../src/domain/dag.ts';

const node = (id: string, ...dependsOn: string[]) => ({ id, dependsOn });

describe('dependency graphs', () => {
  it('accepts a diamond and tasks without dependencies', () => {
    assert.equal(graphProblem([node('a'), node('b', 'a'), node('c', 'a'), node('d', 'b', 'c')]), undefined);
    assert.equal(graphProblem([node('a'), { id: 'b', dependsOn: null }]), undefined);
  });

  it('names a missing dependency, a self-dependency and duplicate ids', () => {
    assert.match(graphProblem([node('a', 'x')])!, /a depends on x, which is not one of its tasks/);
    assert.match(graphProblem([node('a', 'a')])!, /a depends on itself/);
    assert.match(graphProblem([node('a'), node('a')])!, /unique/);
  });

  it('shows the cycle it found', () => {
    const problem = graphProblem([node('a', 'c'), node('b', 'a'), node('c', 'b'), node('d')]);
    assert.match(problem!, /cycle: (a -> c -> b -> a|c -> b -> a -> c|b -> a -> c -> b)/);
  });

  it('finds a cycle at the end of a long chain without overflowing the stack', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => node(`t${i}`, `t${(i + 1) % 20_000}`));
    assert.match(graphProblem(chain)!, /cycle/);
  });

  it('orders dependencies first, keeping list order among tasks free to go', () => {
    const order = topologicalOrder([
      node('d', 'b', 'c'),
      node('c', 'a'),
      node('b', 'a'),
      node('a'),
      node('e'),
    ]);
    assert.deepEqual(
      order.map((n) => n.id),
      ['a', 'c', 'b', 'd', 'e'],
    );
  });
});
