// `npm run bench [-- section-id ...]`: runs the benchmark sections, prints a table each.
// Add a section by writing bench/<name>.bench.ts (default export: BenchSection) and
// listing it below; cases may compare themselves with cases of earlier sections.
import os from 'node:os';
import { measure, printTable, type BenchCase, type BenchSection, type Measurement } from './harness.ts';
import floatReference from './float-reference.bench.ts';
import lutGemv from './lut-gemv.bench.ts';
import int8Runtime from './int8-runtime.bench.ts';
import lowbit from './lowbit.bench.ts';
import finetune from './finetune.bench.ts';

const SECTIONS: BenchSection[] = [
  floatReference,
  int8Runtime,
  lutGemv,
  lowbit,
  finetune,
];

const only = process.argv.slice(2);
const chosen = SECTIONS.filter((s) => only.length === 0 || only.some((o) => s.id.includes(o)));
if (chosen.length === 0) {
  console.error(`no bench section matches ${only.join(' ')}; sections: ${SECTIONS.map((s) => s.id).join(', ')}`);
  process.exit(2);
}

console.log(`# edgeq bench — node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, load ${os.loadavg()[0].toFixed(2)}`);
const all = new Map<string, Measurement>();
for (const section of chosen) {
  const rows: Array<[BenchCase, Measurement]> = [];
  for (const c of await section.cases()) {
    const id = `${section.id}/${c.name}`;
    const m = measure(id, c);
    all.set(id, m);
    rows.push([c, m]);
  }
  printTable(section, rows, all);
}
