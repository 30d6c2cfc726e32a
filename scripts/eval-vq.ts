// Issue 15 item 5, measured before anything is built: vector-quantized 2-bit weights
// (PCDVQ-style direction codebook × magnitude, compiler/quantize/vq-fit.ts) against the uniform LUT grid
// with GPTQ, scored by scripts/eval-hlq.ts's driver (block matrices fake-quantized in float,
// mean KL against the float model; bits per block weight as the format would store them).
//
//   node --import tsx scripts/eval-vq.ts [--tokens 4000] [--model babyllama936K] [--methods a;b] [--out docs/vq-measured]
// Methods: vq:d<d>k<k>m<m><r|n>[+h][+gptq] (r: fp16 row scales, n: none; +h: k-means and code
// choice weighted by the calibration Hessian's diagonal; +gptq: vectors coded by GPTQ with the
// fitted codebook; +gptq+als: GPTQ alternated with a least-squares refit of codebook and levels
// on the full calibration Hessian, 3 rounds, the best kept), and any eval-hlq.ts method (uniform:2g64+gptq+als is the compiler's
// --gptq with its grid refit). Matrices whose input size d does not divide take int8 per row.
// +s: one codebook shared by all the model's block matrices (its bytes split among them; the
// +als refit then refits the levels only).
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { int8Dq, parseMethod, quantMatrix, runEval, writeReport, type HlqRow, type MatrixQuantizer } from './eval-hlq.ts';
import { mergedRows } from './quality.ts';
import { fitSharedCodebook, fitVq, gptqVq, gptqVqRefit, vqBytes, type VqOptions } from '../compiler/quantize/vq-fit.ts';
import type { FloatWeights } from '../compiler/import/graph.ts';
import { blockInputKey, type Hessians } from '../compiler/quantize/calibrate.ts';
import { BLOCK_MATRICES, type BlockMatrix } from '../compiler/plan/plan.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DEFAULT_METHODS = [
  'uniform:2g64+gptq+als', 'uniform:2g32+gptq+als',
  'vq:d4k6m3r+h', 'vq:d4k6m3r+h+gptq', 'vq:d4k5m3r+h+gptq', 'vq:d4k7m2r+h+gptq', 'vq:d4k8m2r+h+gptq', 'vq:d4k6m3n+h+gptq', 'vq:d4k6m3r+gptq',
  'vq:d8k8m4r+h+gptq', 'vq:d4k7m2r+h+gptq+als', 'vq:d2k4m1n+h+gptq+als', 'vq:d4k8m2n+h+gptq+als+s', 'vq:d4k7m2n+h+gptq+als+s',
];

/** Column weights of the fit: H_jj (damped by 1e-3 of its mean) with +h, else 1. */
function columnWeights(h: Float64Array, cols: number, weighted: boolean): Float64Array {
  const D = new Float64Array(cols);
  let mean = 0;
  for (let j = 0; j < cols; j++) mean += h[j * cols + j] / cols;
  for (let j = 0; j < cols; j++) D[j] = weighted ? h[j * cols + j] + 1e-3 * mean + 1e-30 : 1;
  return D;
}

export function vqQuantizer(name: string): { quant: MatrixQuantizer; prepare?: (w: FloatWeights, hessians: Hessians) => void } {
  const m = /^vq:d(\d+)k(\d+)m(\d+)([rn])((?:\+h|\+gptq|\+als|\+s)*)$/.exec(name);
  if (!m) { const hm = parseMethod(name); return { quant: (w, rows, cols, h) => quantMatrix(hm, w, rows, cols, h) }; }
  const o: VqOptions = { d: Number(m[1]), k: Number(m[2]), m: Number(m[3]), rowScale: m[4] === 'r' };
  const weighted = m[5].includes('+h'), gptq = m[5].includes('+gptq'), als = m[5].includes('+als'), shared = m[5].includes('+s');
  // +s: one codebook for all the model's block matrices (that d divides), fitted in prepare.
  let sharedBy = 1;
  const prepare = (w: FloatWeights, hessians: Hessians): void => {
    const mats = w.blocks.flatMap((b, l) => BLOCK_MATRICES.map((mat) => {
      const cols = mat === 'w2' ? w.config.hiddenDim : w.config.dim;
      return { w: b[mat], cols, D: columnWeights(hessians.get(blockInputKey(l, mat as BlockMatrix))!, cols, weighted) };
    })).filter((x) => x.cols % o.d === 0);
    o.codebook = fitSharedCodebook(mats, o.d, o.k, o.seed);
    sharedBy = mats.length;
  };
  const quant: MatrixQuantizer = (w, rows, cols, h) => {
    if (cols % o.d !== 0) return { dq: int8Dq(w, rows, cols, gptq ? h : null), bytes: rows * cols + 3 * rows };
    const f = fitVq(w, rows, cols, columnWeights(h, cols, weighted), o);
    return { dq: als ? gptqVqRefit(w, rows, cols, h, f, o.d, 3, shared).dq : gptq ? gptqVq(w, rows, cols, h, f, o.d) : f.dq, bytes: vqBytes(rows, cols, o, sharedBy) };
  };
  return shared ? { quant, prepare } : { quant };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    tokens: { type: 'string', default: '4000' }, model: { type: 'string' }, methods: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'docs/vq-measured') }, merge: { type: 'string' },
  } });
  const tokens = Number(values.tokens);
  if (values.merge) return writeReport(values.out!, mergedRows<HlqRow>(values.merge), tokens, 'scripts/eval-vq.ts');
  const names = values.methods ? values.methods.split(';') : DEFAULT_METHODS;
  await runEval(names.map((name) => ({ name, ...vqQuantizer(name) })), { tokens, model: values.model, out: values.out!, who: 'eval-vq', command: 'scripts/eval-vq.ts' });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
