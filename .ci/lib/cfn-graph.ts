/**
 * The dependency graph of a CloudFormation template and its cycles.
 *
 * `sls package` does not notice a cycle; CloudFormation refuses the whole deploy ("Circular dependency
 * between resources"). The classic one here is S3 notification -> queue policy -> bucket Ref -> bucket.
 * An edge A -> B means A cannot be created before B: `DependsOn`, `Ref`, `Fn::GetAtt` (both forms), and
 * the `${Name}` / `${Name.Attr}` references inside `Fn::Sub` strings. Refs to parameters and pseudo
 * parameters (`AWS::Region`) are not resources and add no edge.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resources-section-structure.html
 */
import type { CfnTemplate } from './sls-package';

export type Graph = Map<string, Set<string>>;

export function dependencyGraph(template: Pick<CfnTemplate, 'Resources'>): Graph {
  const resources = template.Resources ?? {};
  const graph: Graph = new Map();
  for (const [id, resource] of Object.entries(resources)) {
    const edges = new Set<string>();
    const dependsOn = resource.DependsOn;
    for (const target of typeof dependsOn === 'string' ? [dependsOn] : (dependsOn ?? [])) edges.add(target);
    collectReferences(resource, edges);
    graph.set(id, new Set([...edges].filter((target) => target in resources)));
  }
  return graph;
}

function collectReferences(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectReferences(item, into);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (key === 'Ref' && typeof value === 'string') into.add(value);
    else if (key === 'Fn::GetAtt') {
      // ["Name", "Attr"] or "Name.Attr"
      const name = Array.isArray(value)
        ? value[0]
        : typeof value === 'string'
          ? value.split('.')[0]
          : undefined;
      if (typeof name === 'string') into.add(name);
    } else if (key === 'Fn::Sub') {
      const [text, vars] = Array.isArray(value) ? [value[0], value[1]] : [value, undefined];
      const local = new Set(vars && typeof vars === 'object' ? Object.keys(vars as object) : []);
      if (typeof text === 'string') {
        // ${Name} or ${Name.Attr}; ${!Literal} is an escape, not a reference
        for (const match of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const name = (match[1] ?? '').split('.')[0]!.trim();
          if (!local.has(name)) into.add(name);
        }
      }
      collectReferences(vars, into);
      continue;
    }
    collectReferences(value, into);
  }
}

/**
 * Every elementary cycle's witness: for each strongly connected component with more than one node (or
 * a self-loop), one cycle through it, as a list of logical ids ending where it started.
 * Tarjan's algorithm, iterative (templates can hold hundreds of resources).
 */
export function findCycles(graph: Graph): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlink = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];

  for (const start of graph.keys()) {
    if (indices.has(start)) continue;
    const work: Array<{ node: string; edges: Iterator<string> }> = [];
    const visit = (node: string) => {
      indices.set(node, index);
      lowlink.set(node, index);
      index += 1;
      stack.push(node);
      onStack.add(node);
      work.push({ node, edges: (graph.get(node) ?? new Set<string>()).values() });
    };
    visit(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const next = frame.edges.next();
      if (!next.done) {
        const target = next.value;
        if (!indices.has(target)) visit(target);
        else if (onStack.has(target)) {
          lowlink.set(frame.node, Math.min(lowlink.get(frame.node)!, indices.get(target)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) lowlink.set(parent.node, Math.min(lowlink.get(parent.node)!, lowlink.get(frame.node)!));
      if (lowlink.get(frame.node) === indices.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = component.length === 1 && graph.get(frame.node)?.has(frame.node);
        if (component.length > 1 || selfLoop) components.push(component);
      }
    }
  }
  return components.map((component) => witness(graph, new Set(component)));
}

/** A concrete cycle inside one strongly connected component (breadth-first back to the start). */
function witness(graph: Graph, component: Set<string>): string[] {
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const target of graph.get(node) ?? []) {
      if (!component.has(target)) continue;
      if (target === start) {
        // walk back from `node` to `start`, then read it forwards and close the loop
        const back: string[] = [];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = previous.get(at))
          back.push(at);
        return [start, ...back.reverse(), start];
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}
