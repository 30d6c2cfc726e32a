// No import cycles among the project's TypeScript modules (type-only imports included: a
// cycle through types still couples two modules' definitions). Issue 13 item 8 removed
// compiler/cli/commands/verify.ts ↔ compiler/cli/verify-train.ts; this keeps such
// cycles from coming back. Dynamic import() is not an edge: it is how a command loads a
// heavy part lazily.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { ROOT } from './helpers/models.ts';

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) tsFiles(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Static relative imports and re-exports of each file (`import … from './x.ts'`). */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    const deps = [...src.matchAll(/^\s*(?:import|export)\s[^'";]*?from\s+'(\.[^']+)'/gm)].map((m) => normalize(join(dirname(f), m[1])));
    graph.set(f, deps);
  }
  return graph;
}

function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[][] = [];
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return cycles;
}

test('the cycle finder sees a two-module cycle (it can fail)', () => {
  const g = new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']], ['c.ts', ['a.ts']]]);
  assert.equal(findCycles(g), [['a.ts', 'b.ts', 'a.ts']]);
});

test('compiler/, runtime/, scripts/ and bench/ have no static import cycle', () => {
  const files = ['compiler', 'runtime', 'scripts', 'bench'].flatMap((d) => tsFiles(join(ROOT, d)));
  assert.ok(files.length > 100, `only ${files.length} files found`);
  const cycles = findCycles(importGraph(files)).map((c) => c.map((f) => relative(ROOT, f)).join(' -> '));
  assert.equal(cycles, [], `import cycles:\n${cycles.join('\n')}`);
});

test.run();
