/** A task as the dependency graph of its workflow or job sees it. */
export interface GraphNode {
  id: string;
  dependsOn: readonly string[] | null;
}

/**
 * Why these tasks do not form a valid dependency graph (a dependency that is not among them, a task that
 * depends on itself, a cycle), or undefined when they do. Upstream answers these with a 500; ours are 400.
 */
export function graphProblem(nodes: readonly GraphNode[]): string | undefined {
  const ids = new Set(nodes.map((node) => node.id));
  if (ids.size !== nodes.length) return 'task ids must be unique';
  for (const node of nodes) {
    for (const parent of node.dependsOn ?? []) {
      if (parent === node.id) return `task ${node.id} depends on itself`;
      if (!ids.has(parent)) return `task ${node.id} depends on ${parent}, which is not one of its tasks`;
    }
  }
  const cycle = findCycle(nodes);
  return cycle ? `the dependencies form a cycle: ${cycle.join(' -> ')}` : undefined;
}

/** A path that comes back to its start, or undefined. Iterative, so a long chain cannot overflow the stack. */
function findCycle(nodes: readonly GraphNode[]): string[] | undefined {
  const parentsOf = new Map(nodes.map((node) => [node.id, node.dependsOn ?? []]));
  const done = new Set<string>();
  for (const root of nodes) {
    if (done.has(root.id)) continue;
    const path: string[] = [];
    const onPath = new Set<string>();
    const stack: Array<{ id: string; next: number }> = [{ id: root.id, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next === 0) {
        path.push(top.id);
        onPath.add(top.id);
      }
      const parents = parentsOf.get(top.id) ?? [];
      if (top.next < parents.length) {
        const parent = parents[top.next++]!;
        if (onPath.has(parent)) return [...path.slice(path.indexOf(parent)), parent];
        if (!done.has(parent)) stack.push({ id: parent, next: 0 });
        continue;
      }
      stack.pop();
      path.pop();
      onPath.delete(top.id);
      done.add(top.id);
    }
  }
  return undefined;
}

/**
 * The nodes in an order where every task comes after its dependencies; among tasks free to go, the one
 * listed first goes first, so a graph without dependencies keeps its list order. Assumes a valid graph.
 */
export function topologicalOrder<T extends GraphNode>(nodes: readonly T[]): T[] {
  const waitingOn = new Map(nodes.map((node) => [node.id, new Set(node.dependsOn ?? [])]));
  const ordered: T[] = [];
  const placed = new Set<string>();
  while (ordered.length < nodes.length) {
    const next = nodes.find(
      (node) => !placed.has(node.id) && [...waitingOn.get(node.id)!].every((parent) => placed.has(parent)),
    );
    if (!next) throw new Error('topologicalOrder: the graph has a cycle');
    ordered.push(next);
    placed.add(next.id);
  }
  return ordered;
}
