// Issue 15 item 3, measured before anything is built: per-bit-plane scales (HLQ, ELUTQ's
// hierarchical linear quantization; fit in scripts/hlq-fit.ts) against today's uniform LUT
// grid (lowbit.ts clip search, ± GPTQ), on the real models, all scored the same way: the
// block matrices (wq..w3) fake-quantized in float (dequantized values put back into the
// float model; embedding, norms and classifier stay float), teacher-forced against the float
// model (float64 accumulation) over --tokens tokens of TinyStories validation text, mean KL
// over all positions and over each window's second half (compiler/eval/quality.ts). Bits per
// block weight count what each format would store (values, per-group bytes, row scales);
// matrices whose input size the group size does not divide take the plan fallback
// (resolveStored: a smaller group, or int8 per-row, rounded or GPTQ like the real plans).
//
//   node --import tsx scripts/eval-hlq.ts [--tokens 4000] [--model babyllama936K] [--methods a;b] [--out docs/hlq-measured]
//   node --import tsx scripts/eval-hlq.ts --tokens 4000 --merge a.json,b.json   (one report of several runs)
// Methods: uniform:<b>g<G>[+gptq], kmeans:<b>g<G>[+gptq] (a bound: 2^b free float levels per
// group, counted as one byte each), hlq:<b>g<G><z16|z8r|z8g>[+gptq][+unw] (scripts/hlq-fit.ts ZMode;
// +unw: the ALS unweighted, d = 1); +gptq+als: GPTQ codes alternated with the grid's
// least-squares refit on H (scripts/hlq-refit.ts).
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { FloatWeights } from '../compiler/import/graph.ts';
import { blockInputKey, calibrate, type Hessians } from '../compiler/quantize/calibrate.ts';
import { gptqRows } from '../compiler/quantize/gptq.ts';
import { quantizeRows } from '../compiler/quantize/weights.ts';
import { formatNamed, type PlanBits } from '../compiler/quantize/formats/registry.ts';
import { cachedReference } from '../compiler/plan/damage.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { BLOCK_MATRICES, resolveStored, type BlockMatrix } from '../compiler/plan/plan.ts';
import { blockWeights, frontier, scoreBoth } from '../compiler/eval/quality.ts';
import { writeFileAtomic } from '../compiler/util/atomic-write.ts';
import { LUT_TILE_ROWS, tilesOf, type LowBits } from '../compiler/quantize/lowbit-format.ts';
import { MODELS, mergedRows, realModel } from './quality.ts';
import { gptqAls } from './hlq-refit.ts';
import { fitHlq, gptqOnGrid, uniformLevels, hlqBytes, kmeansGroups, lutBytes, type ZMode } from './hlq-fit.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DEFAULT_METHODS = [
  'uniform:2g32', 'uniform:2g32+gptq', 'uniform:2g64', 'uniform:2g64+gptq', 'uniform:3g32', 'uniform:3g32+gptq', 'uniform:3g64', 'uniform:3g64+gptq',
  'hlq:2g64z8g', 'hlq:2g64z8g+gptq', 'hlq:2g32z8g', 'hlq:2g32z8g+gptq', 'hlq:2g128z8g', 'hlq:2g128z8g+gptq',
  'hlq:3g64z8g', 'hlq:3g64z8g+gptq', 'hlq:3g128z8g', 'hlq:3g128z8g+gptq',
  'hlq:2g64z16', 'hlq:2g64z8r', 'hlq:2g64z8g+unw', 'hlq:2g64z8g+unw+gptq',
  'kmeans:2g64', 'kmeans:2g64+gptq', 'kmeans:3g64', 'kmeans:3g64+gptq',
  'uniform:2g32+gptq+als', 'uniform:2g64+gptq+als', 'hlq:2g64z8g+gptq+als', 'hlq:2g128z8g+gptq+als', 'hlq:2g32z8g+gptq+als', 'kmeans:2g64+gptq+als',
  'uniform:3g32+gptq+als', 'uniform:3g64+gptq+als', 'hlq:3g64z8g+gptq+als', 'hlq:3g128z8g+gptq+als', 'kmeans:3g64+gptq+als',
  'uniform:4g64+gptq', 'uniform:4g64+gptq+als', 'hlq:4g128z8g+gptq+als', 'uniform:4g32+gptq', 'uniform:4g32+gptq+als',
];

interface Method { name: string; kind: 'uniform' | 'hlq' | 'kmeans'; bits: LowBits; groupSize: number; z: ZMode; gptq: boolean; als: boolean; unweighted: boolean }
export function parseMethod(name: string): Method {
  const m = /^(uniform|hlq|kmeans):(\d)g(\d+)(z16|z8r|z8g)?((?:\+gptq|\+als|\+unw)*)$/.exec(name);
  if (!m) throw new Error(`eval-hlq: bad method ${name}`);
  return { name, kind: m[1] as Method['kind'], bits: Number(m[2]) as LowBits, groupSize: Number(m[3]), z: (m[4] ?? 'z8g') as ZMode, gptq: m[5].includes('+gptq'), als: m[5].includes('+als'), unweighted: m[5].includes('+unw') };
}

/** int8 per-row (the plan fallback), dequantized. */
export function int8Dq(w: Float32Array, rows: number, cols: number, h: Float64Array | null): Float32Array {
  const r = h ? gptqRows(w, rows, cols, h) : quantizeRows(w, rows, cols);
  const dq = new Float32Array(rows * cols);
  for (let k = 0; k < dq.length; k++) { const o = Math.floor(k / cols); dq[k] = r.q[k] * r.m[o] * 2 ** -r.e[o]; }
  return dq;
}

/** One matrix under a method: its dequantized weights, stored bytes and (diag-H weighted, plain) squared errors. */
export function quantMatrix(m: Method, w: Float32Array, rows: number, cols: number, h: Float64Array): { dq: Float32Array; bytes: number } {
  const r = resolveStored({ bits: m.bits as PlanBits, groupSize: m.groupSize }, cols);
  if (r.format === 'int8') return { dq: int8Dq(w, rows, cols, m.gptq ? h : null), bytes: rows * cols + 3 * rows };
  const gs = r.groupSize, f = formatNamed(r.format)!;
  if (m.kind === 'uniform') {
    // refit 0: "+gptq" here is codes-only GPTQ, the baseline the "+als" refit is measured against.
    const q = m.gptq ? f.quantizeGptq!(w, rows, cols, gs, h, { refit: 0 }) : f.quantize(w, rows, cols, gs);
    const dq = f.dequantize(q.data, rows, cols, gs), bytes = lutBytes(m.bits, rows, cols, gs);
    if (!m.als) return { dq, bytes };
    return { dq: gptqAls(w, rows, cols, gs, m.bits, h, uniformLevels(w, rows, cols, m.bits, gs), { kind: 'uniform' }, dq), bytes };
  }
  const d = new Float64Array(cols);
  let mean = 0;
  for (let j = 0; j < cols; j++) mean += h[j * cols + j] / cols;
  for (let j = 0; j < cols; j++) d[j] = m.unweighted ? 1 : h[j * cols + j] + 1e-3 * mean + 1e-30;
  const fit = fitHlq(w, rows, cols, d, { bits: m.bits, groupSize: gs, z: m.z });
  // kmeans: free float levels per group (a bound; its bytes as if each level were one byte).
  const dq0 = m.kind === 'kmeans' ? kmeansGroups(w, rows, cols, d, m.bits, gs, fit.levels, fit.codes) : fit.dq;
  const dq = m.als ? gptqAls(w, rows, cols, gs, m.bits, h, fit.levels, m.kind === 'kmeans' ? { kind: 'free' } : { kind: 'hlq', z: m.z }, dq0)
    : m.gptq ? gptqOnGrid(w, rows, cols, gs, fit.levels, 1 << m.bits, h, dq0) : dq0;
  const bytes = m.kind === 'kmeans' ? lutBytes(m.bits, rows, cols, gs) + (tilesOf(rows) * LUT_TILE_ROWS * (cols / gs) * ((1 << m.bits) - 2)) : hlqBytes(m.bits, rows, cols, gs, m.z);
  return { dq, bytes };
}

export interface HlqRow { model: string; method: string; bpw: number; klAll: number; top1All: number; klHalf: number; pplAll: number; pplRef: number; wErr: number; seconds: number }

/** A quantizer of one block matrix: its dequantized weights and the bytes a format would store. */
export type MatrixQuantizer = (w: Float32Array, rows: number, cols: number, h: Float64Array) => { dq: Float32Array; bytes: number };

/**
 * Scores each named quantizer on each model (all block matrices fake-quantized, mean KL
 * against the float model over `tokens` tokens), writing the report after every row;
 * `prepare` sees the whole model first (a fit shared by all its matrices).
 */
export async function runEval(methods: ReadonlyArray<{ name: string; quant: MatrixQuantizer; prepare?: (w: FloatWeights, hessians: Hessians) => void }>, o: { tokens: number; model?: string; out: string; who: string; command: string }): Promise<HlqRow[]> {
  const rows: HlqRow[] = [];
  for (const [name, tok] of MODELS.filter(([n]) => !o.model || n === o.model)) {
    const { w, stream } = realModel(name, tok, o.tokens, o.who), c = w.config;
    const ref = cachedReference(new FloatTransformer(w, { accumulate: 'float64' }));
    const hessians = calibrate(w);
    for (const m of methods) {
      const t0 = Date.now();
      m.prepare?.(w, hessians);
      let bytes = 0, wErr = 0;
      const blocks = w.blocks.map((b, l) => {
        const nb = { ...b };
        for (const mat of BLOCK_MATRICES) {
          const f = b[mat], cols = mat === 'w2' ? c.hiddenDim : c.dim, rws = f.length / cols;
          const h = hessians.get(blockInputKey(l, mat as BlockMatrix))!;
          const q = m.quant(f, rws, cols, h);
          bytes += q.bytes;
          // The proxy the fit minimizes, summed over the model: Σ H_jj (w - ŵ)^2.
          for (let k = 0; k < f.length; k++) wErr += h[(k % cols) * (cols + 1)] * (f[k] - q.dq[k]) ** 2;
          nb[mat] = q.dq;
        }
        return nb;
      });
      const fake: FloatWeights = { ...w, blocks };
      const s = scoreBoth(stream, ref(), new FloatTransformer(fake, { accumulate: 'float64' }), c.seqLen);
      rows.push({ model: name, method: m.name, bpw: (8 * bytes) / blockWeights(w), klAll: s.all.meanKL, top1All: s.all.top1Agreement, klHalf: s.half.meanKL, pplAll: s.all.pplTest, pplRef: s.all.pplRef, wErr, seconds: (Date.now() - t0) / 1000 });
      const r = rows.at(-1)!;
      process.stderr.write(`${o.who}: ${name} ${m.name}: ${r.bpw.toFixed(3)} bpw, KL ${r.klAll.toFixed(4)} (half ${r.klHalf.toFixed(4)}), ΣH·err² ${wErr.toExponential(3)}, ${r.seconds.toFixed(0)} s\n`);
      writeReport(o.out, rows, o.tokens, o.command);
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    tokens: { type: 'string', default: '4000' }, model: { type: 'string' }, methods: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'docs/hlq-measured') }, merge: { type: 'string' },
  } });
  const tokens = Number(values.tokens);
  const methods = (values.methods ? values.methods.split(';') : DEFAULT_METHODS).map(parseMethod);
  // --merge a.json,b.json: one report of earlier runs' rows (same --tokens).
  if (values.merge) return writeReport(values.out!, mergedRows<HlqRow>(values.merge), tokens);
  const quant = (m: Method): MatrixQuantizer => (w, rows, cols, h) => quantMatrix(m, w, rows, cols, h);
  await runEval(methods.map((m) => ({ name: m.name, quant: quant(m) })), { tokens, model: values.model, out: values.out!, who: 'eval-hlq', command: 'scripts/eval-hlq.ts' });
}

export function writeReport(out: string, rows: readonly HlqRow[], tokens: number, command = 'scripts/eval-hlq.ts'): void {
  const md = [
    `Generated by \`node --import tsx ${command} --tokens ${tokens}\`: block matrices fake-quantized in float, teacher-forced against the float model over ${tokens} tokens of tinystories-valid-head.txt. **bpw**: bits per block weight as stored (values, per-group bytes, row scales; int8 fallbacks included). **ΣH·err²**: Σ_j H_jj (w − ŵ)² over all block matrices (the diag-Hessian proxy the HLQ fit minimizes). ★: on the model's KL-vs-bpw frontier among these rows.`, '',
    '| model | method | bpw | KL all | top-1 all | KL half | ppl all (float) | ΣH·err² |', '|---|---|---|---|---|---|---|---|',
  ];
  for (const model of [...new Set(rows.map((r) => r.model))]) {
    const mine = rows.filter((r) => r.model === model);
    const fr = new Set(frontier(mine.map((r) => ({ plan: r.method, bpw: r.bpw, kl: r.klAll }))).map((p) => p.plan));
    for (const r of [...mine].sort((a, b) => b.bpw - a.bpw || a.klAll - b.klAll)) {
      md.push(`| ${model} | ${fr.has(r.method) ? '★ ' : ''}${r.method} | ${r.bpw.toFixed(3)} | ${r.klAll.toFixed(4)} | ${(100 * r.top1All).toFixed(2)}% | ${r.klHalf.toFixed(4)} | ${r.pplAll.toFixed(3)} (${r.pplRef.toFixed(3)}) | ${r.wErr.toExponential(3)} |`);
    }
  }
  writeFileAtomic(`${out}.md`, md.join('\n') + '\n');
  writeFileAtomic(`${out}.json`, JSON.stringify({ tokens, rows }, null, 1) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
