// Offline measure (issue 15 item 4): Hadamard rotation of the weights against AWQ, in float.
// Every block matrix W is replaced by the float value of what the device would store, mapped
// back to the original basis, and the float model (float64 sums) is scored against the
// unquantized one (mean KL, compiler/eval/quality.ts):
//   rtn        deq(Q(W))                          the clip search alone
//   gptq       deq(GPTQ(W, H))
//   awq        deq(Q(W·s))·diag(1/s)              (compiler/quantize/awq.ts: s folded into the producer)
//   awq+gptq   the same with GPTQ on diag(1/s) H diag(1/s)
//   had        deq(Q(W·Rᵀ))·R                     R: block-diagonal normalized Walsh–Hadamard,
//   had+gptq   the same with GPTQ on R H Rᵀ       blocks of 2^k columns (the largest power of
//                                                 two dividing the input size, at most --block)
// The rotation would cost one Walsh–Hadamard transform of each matrix input per token at
// run time (additions only); AWQ costs nothing at run time. The integer runtime's own
// rounding (activations, KV cache) is left out for every method alike.
//   node --import tsx scripts/eval-rotation.ts [--tokens 3000] [--model <name>] [--plans uniform:4g64,uniform:2g32] [--block 256]
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights, type FloatWeights } from '../compiler/import/graph.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { blockInputKey, calibrateStats, type Hessians } from '../compiler/quantize/calibrate.ts';
import { awqFold } from '../compiler/quantize/awq.ts';
import { formatNamed } from '../compiler/quantize/formats/registry.ts';
import { BLOCK_MATRICES, parsePlan, requested, resolveStored, type BlockMatrix, type PlanSpec } from '../compiler/plan/plan.ts';
import { encodeParagraphs, readUtf8 } from '../compiler/eval/text-stream.ts';
import { cachedReference } from '../compiler/plan/damage.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { scoreBoth } from '../compiler/eval/quality.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { MODELS } from './quality.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** The largest power of two dividing n, at most `cap`. */
const blockOf = (n: number, cap: number) => { let b = 1; while (n % (2 * b) === 0 && 2 * b <= cap) b *= 2; return b; };

/** In place: each row's consecutive blocks of b values ← normalized Walsh–Hadamard (Sylvester order; its own inverse). */
function fwhtRows(w: Float32Array | Float64Array, rows: number, cols: number, b: number): void {
  const norm = 1 / Math.sqrt(b);
  for (let r = 0; r < rows; r++) {
    for (let o = r * cols; o < (r + 1) * cols; o += b) {
      for (let len = 1; len < b; len *= 2) {
        for (let i = o; i < o + b; i += 2 * len) {
          for (let j = i; j < i + len; j++) { const x = w[j], y = w[j + len]; w[j] = x + y; w[j + len] = x - y; }
        }
      }
      for (let j = o; j < o + b; j++) w[j] *= norm;
    }
  }
}

/** R H Rᵀ for the block rotation R of fwhtRows (H symmetric n x n). */
function rotateHessian(h: Float64Array, n: number, b: number): Float64Array {
  const out = Float64Array.from(h);
  fwhtRows(out, n, n, b); // each row h_i ← R h_i: H Rᵀ
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[i * n + j] = out[j * n + i]; // R H
  fwhtRows(t, n, n, b); // R H Rᵀ
  return t;
}

/** The stored value of W (rows x cols) in its plan format, by the clip search or by GPTQ with h. */
function roundTrip(plan: PlanSpec, l: number, name: BlockMatrix, w: Float32Array, rows: number, cols: number, h: Float64Array | null): Float32Array {
  const r = resolveStored(requested(plan, l, name), cols);
  const f = formatNamed(r.format)!;
  try {
    const q = h && f.quantizeGptq ? f.quantizeGptq(w, rows, cols, r.groupSize, h, {}) : f.quantize(w, rows, cols, r.groupSize);
    return f.dequantize(q.data, rows, cols, r.groupSize);
  } catch (e) {
    if (!(e instanceof EdgeqError)) throw e;
    const i8 = formatNamed('int8')!;
    return i8.dequantize(i8.quantize(w, rows, cols, 0).data, rows, cols, 0);
  }
}

/** A copy of w with every block matrix replaced by its stored value (rotated by blocks of ≤ cap columns if cap > 0). */
function fakeQuantized(w: FloatWeights, plan: PlanSpec, hessians: Hessians | null, cap: number): FloatWeights {
  const c = w.config;
  const blocks = w.blocks.map((b, l) => {
    const out = { ...b };
    for (const name of BLOCK_MATRICES) {
      const f = b[name], cols = name === 'w2' ? c.hiddenDim : c.dim, rows = f.length / cols;
      let h = hessians?.get(blockInputKey(l, name)) ?? null;
      if (cap === 0) { out[name] = roundTrip(plan, l, name, f, rows, cols, h); continue; }
      const blk = blockOf(cols, cap), rot = Float32Array.from(f);
      fwhtRows(rot, rows, cols, blk);
      if (h) h = rotateHessian(h, cols, blk);
      const dq = roundTrip(plan, l, name, rot, rows, cols, h);
      fwhtRows(dq, rows, cols, blk);
      out[name] = dq;
    }
    return out;
  });
  return { ...w, blocks };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    tokens: { type: 'string', default: '3000' }, model: { type: 'string' },
    plans: { type: 'string', default: 'uniform:4g64,uniform:2g32' }, block: { type: 'string', default: '256' },
    methods: { type: 'string', default: 'rtn,awq,had,gptq,awq+gptq,had+gptq' },
  } });
  const models = process.env.EDGEQ_MODELS ?? resolve(ROOT, '../shared/models'), cap = Number(values.block);
  for (const [name, tok] of MODELS) {
    if (values.model && values.model !== name) continue;
    const w = loadWeights(openModel(join(models, `${name}.bin`)));
    const stream = encodeParagraphs(Tokenizer.load(join(models, tok)), readUtf8(join(models, 'tinystories-valid-head.txt')), Number(values.tokens)).tokens;
    const ref = cachedReference(new FloatTransformer(w, { accumulate: 'float64' }));
    const stats = calibrateStats(w);
    for (const p of values.plans!.split(',')) {
      const plan = parsePlan(p);
      for (const m of values.methods!.split(',')) {
        const t0 = Date.now();
        const gptq = m.endsWith('gptq');
        let fq: FloatWeights;
        if (m.startsWith('awq')) {
          const r = awqFold(w, stats, plan);
          fq = fakeQuantized(r.weights, plan, gptq ? r.hessians : null, 0);
        } else fq = fakeQuantized(w, plan, gptq ? stats.hessians : null, m.startsWith('had') ? cap : 0);
        const s = scoreBoth(stream, ref(), new FloatTransformer(fq, { accumulate: 'float64' }), w.config.seqLen);
        console.log(JSON.stringify({ model: name, plan: p, method: m, tokens: stream.length, klAll: +s.all.meanKL.toFixed(4), klHalf: +s.half.meanKL.toFixed(4), top1: +s.all.top1Agreement.toFixed(4), seconds: (Date.now() - t0) / 1000 }));
      }
    }
  }
}

await main();
