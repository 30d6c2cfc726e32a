// npm run gen:ops: regenerate what is derived from the op registry (compiler/ops) into
// the docs: the op table of docs/integer-spec.md §10 (between the GENERATED markers).
// test/ops-registry.test.ts fails when the committed table differs from a fresh one.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OP_DEFS } from '../compiler/ops/registry.ts';
import type { OpDef, OperandDef } from '../compiler/ops/op-def.ts';
import { writeFileAtomic } from '../compiler/util/atomic-write.ts';

export const ROOT = resolve(import.meta.dirname, '..');
export const SPEC = 'docs/integer-spec.md';
const BEGIN = '<!-- BEGIN GENERATED op table: npm run gen:ops (compiler/ops/kinds) -->';
const END = '<!-- END GENERATED op table -->';

const operands = (xs: OperandDef[]) => xs.map((x) => (x.type ? `${x.name} ${x.type}` : x.name)).join(', ');

/** The table: one row per op kind; kinds with the same layout (gemv, classifier) share a row. */
export function renderOpTable(defs: readonly OpDef[] = OP_DEFS): string {
  const rows: Array<{ kinds: string[]; cells: string }> = [];
  for (const d of defs) {
    const cells = `${operands(d.inputs)} | ${operands(d.outputs)} | ${d.params.map((p) => (p.note ? `${p.name} ${p.note}` : p.name)).join(', ')} | \`${d.kernel}.ts\``;
    const same = rows.find((r) => r.cells === cells);
    if (same) same.kinds.push(d.kind);
    else rows.push({ kinds: [d.kind], cells });
  }
  return ['| kind | inputs | outputs | params | kernel |', '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.kinds.map((k) => `\`${k}\``).join(', ')} | ${r.cells} |`)].join('\n');
}

/** `spec` with its generated block replaced by a fresh table. */
export function withFreshTable(spec: string): string {
  const a = spec.indexOf(BEGIN), b = spec.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${SPEC}: the markers ${BEGIN} … ${END} are missing`);
  return `${spec.slice(0, a + BEGIN.length)}\n${renderOpTable()}\n${spec.slice(b)}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const path = join(ROOT, SPEC);
  const before = readFileSync(path, 'utf8');
  const after = withFreshTable(before);
  if (after !== before) writeFileAtomic(path, after);
  console.log(`${SPEC}: op table ${after === before ? 'already fresh' : 'regenerated'} (${OP_DEFS.length} op kinds)`);
}
