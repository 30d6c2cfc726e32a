// `npm run bench -- gptq` (issue 15): CPU seconds of the low-bit GPTQ (compiler/quantize/
// gptq-lowbit.ts) per matrix of the stories110M shape, codes only (refit 0, what --gptq did
// before) against the default grid refit, at 4 bits g64 and 2 bits g32; and of the
// calibration (compiler/quantize/calibrate.ts) per token. A whole `edgeq compile --gptq` of
// the 110M shape calibrates on 8192 tokens (an hour or more on a loaded 2-core machine), so
// its time is put together from these parts in docs/benchmarks.md rather than run here.
// Weights and Hessian are synthetic and seeded (H = Σ x xᵀ of 64 inputs with a shared
// component: rank-deficient, made definite by GPTQ's damping as a real one may need); the
// work does not depend on the values.
import type { BenchCase, BenchSection } from './harness.ts';
import { Rng } from '../compiler/synth/prng.ts';
import { shapeByName, synthWeights } from '../compiler/synth/synth.ts';
import { GPTQ_REFIT_ROUNDS, gptqLowbit } from '../compiler/quantize/gptq-lowbit.ts';
import { calibrate } from '../compiler/quantize/calibrate.ts';

const CALIBRATION_TOKENS = 16;

function hessian(cols: number, rng: Rng): Float64Array {
  const h = new Float64Array(cols * cols), x = new Float64Array(cols), common = Float64Array.from({ length: cols }, () => rng.gauss());
  for (let s = 0; s < 64; s++) {
    const c = rng.gauss();
    for (let i = 0; i < cols; i++) x[i] = rng.gauss() + c * common[i];
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) h[i * cols + j] += x[i] * x[j];
  }
  return h;
}

const section: BenchSection = {
  id: 'gptq',
  title: 'low-bit GPTQ on stories110M-shape matrices (CPU seconds per matrix; calibration per token)',
  cases() {
    const shape = shapeByName('stories110M')!, { dim, hiddenDim } = shape;
    const rng = new Rng(15, 'gptq-bench');
    const cases: BenchCase[] = [];
    // wq (wk, wv, wo alike), w1 (w3 alike), w2: [rows, cols].
    for (const [label, rows, cols] of [['wq', dim, dim], ['w1', hiddenDim, dim], ['w2', dim, hiddenDim]] as const) {
      const w = Float32Array.from({ length: rows * cols }, () => 0.02 * rng.gauss()), h = hessian(cols, rng);
      for (const [bits, groupSize] of [[4, 64], [2, 32]] as const) {
        for (const refit of [0, GPTQ_REFIT_ROUNDS]) {
          cases.push({
            name: `${label} ${rows}x${cols} ${bits}g${groupSize} refit ${refit}`, unit: 'matrices/s', seconds: true, warmup: 0, runs: 1,
            run: () => { gptqLowbit(w, rows, cols, h, { bits, groupSize, refit }); return 1; },
          });
        }
      }
    }
    const fw = synthWeights(shape, 1);
    cases.push({
      name: `calibration, ${CALIBRATION_TOKENS} tokens`, unit: 'tokens/s', warmup: 0, runs: 1,
      run: () => { calibrate(fw, { sequences: 1, length: CALIBRATION_TOKENS }); return CALIBRATION_TOKENS; },
    });
    return cases;
  },
};
export default section;
