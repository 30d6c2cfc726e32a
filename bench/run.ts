// `npm run bench [-- section-id ...]`: runs the benchmark sections, prints a table each
// (rates from CPU time, cases interleaved round by round: bench/harness.ts).
// Add a section by writing bench/<name>.bench.ts (default export: BenchSection) and
// listing it below; cases may compare themselves with cases of earlier sections.
import os from 'node:os';
import { measureSection, printTable, type BenchCase, type BenchSection, type Measurement } from './harness.ts';
import floatReference from './float-reference.bench.ts';
import lutGemv from './lut-gemv.bench.ts';
import int8Runtime from './int8-runtime.bench.ts';
import lowbit from './lowbit.bench.ts';
import finetune from './finetune.bench.ts';
import startup from './startup.bench.ts';
import devices from './devices.bench.ts';
import compile from './compile.bench.ts';
import kvCache from './kv-cache.bench.ts';
import threads from './threads.bench.ts';
import gptq from './gptq.bench.ts';

const SECTIONS: BenchSection[] = [
  floatReference,
  int8Runtime,
  lutGemv,
  lowbit,
  finetune,
  startup,
  devices,
  compile,
  kvCache,
  threads,
  gptq,
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
  // All cases of a section are built first, then measured in interleaved rounds (harness.ts).
  const cases = await section.cases();
  const rows: Array<[BenchCase, Measurement]> = measureSection(section.id, cases).map((m, i) => [cases[i], m]);
  for (const [, m] of rows) all.set(m.id, m);
  printTable(section, rows, all);
}
