// Low-bit whole-model bundles (issue 5): greedy tokens/s of runtime.wasm in V8 for int8 vs
// 6/5/4/3/2/1-bit (group size 64) and vq2 plans, SIMD and scalar builds, on the stories15M and
// stories110M shapes; weight bytes read per token; and, for the SIMD builds, the weight
// bytes streamed per second as a fraction of the read bandwidth measured in this same run
// (bench/lut-gemv.bench.ts's probe).
//
// Weights: the int8 model is quantizeInt8 of synthWeights (seeded). The low-bit block
// matrices are *random valid codes* (planes, gm, z2, row scales with e >= 14) in the
// q<b> formats, not the quantizer's output: kernel speed does not depend on the values,
// and the clip-search quantizer needs minutes per plan at the 110M shape (README: measured
// quantizer throughput). The embedding stays int8; the classifier too, except in the
// 110M "+ cls<b>" cases (the plan's opt-in low-bit classifier, docs/integer-spec.md §11: a
// random q<b> `wcls` split off the shared embedding, run by gemv_lut).
import type { BenchCase, BenchSection } from './harness.ts';
import { readProbe } from './lut-gemv.bench.ts';
import { buildLut } from '../test/helpers/lut-wasm.ts';
import { Rng } from '../compiler/synth/prng.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import type { QTensor, QuantModel } from '../compiler/quantize/quant-model.ts';
import { groupBytes, planeBytes } from '../compiler/quantize/lowbit-format.ts';
import { formatNameOfBits, formatOfBits, type PlanBits } from '../compiler/quantize/formats/registry.ts';
import { vq2Format } from '../compiler/quantize/formats/vq2.ts';
import { vq2CodeBytes } from '../compiler/quantize/vq2.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { greedyRuntime } from './decode.ts';
import type { RuntimeBuild } from '../compiler/codegen/runtime.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';
import { BLOCK_MATRICES, resolveMatrix } from '../compiler/plan/plan.ts';

const GS = 64;
/** Weight bytes per token of each shape's int8 bundle (for the baseline's row label). */
const int8Bytes = new Map<string, number>();

function randomBytes(len: number, rng: Rng): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i += 4) { const v = rng.next(); b[i] = v; b[i + 1] = v >> 8; b[i + 2] = v >> 16; b[i + 3] = v >> 24; }
  return b;
}

/**
 * q8 with every block matrix replaced by random `bits`-bit LUT tensors of the same shape;
 * with `cls`, also a random `cls`-bit classifier `wcls` (the embedding stays the int8 one).
 */
export function randomLowbit(q8: QuantModel, bits: PlanBits, seed = 1, cls?: PlanBits): QuantModel {
  if (formatOfBits(bits).kernels.op === 'gemv_vq') return randomVq(q8, seed);
  const rng = new Rng(seed, `lowbit${bits}`);
  const tensors: QTensor[] = [];
  const isBlockMatrix = (n: string) => /^blocks\.\d+\.(\w+)$/.exec(n)?.[1];
  for (const t of q8.tensors) {
    const base = t.name.replace(/\.scale_[me]$/, '');
    const m = isBlockMatrix(base);
    if (!m || !(BLOCK_MATRICES as readonly string[]).includes(m)) { tensors.push(t); continue; }
    if (t.name !== base) {
      // Row scales: e = 36 (>= 14), m = 20000: outputs stay in range for random codes.
      if (t.name.endsWith('.scale_m')) tensors.push({ ...t, data: new Int16Array(t.data.length).fill(20000) });
      else tensors.push({ ...t, data: new Int8Array(t.data.length).fill(36) });
      continue;
    }
    tensors.push(...randomLut(t.name, bits, t.shape[0], t.shape[1], rng));
  }
  if (!cls) return { ...q8, tensors };
  const { vocabSize: V, dim } = q8.params;
  if (!q8.params.sharedClassifier) throw new Error('bench: randomLowbit with cls expects a shared classifier');
  tensors.push(...randomLut('wcls', cls, V, dim, rng));
  tensors.push({ name: 'wcls.scale_m', dtype: 'int16', shape: [V], params: {}, data: new Int16Array(V).fill(20000) });
  tensors.push({ name: 'wcls.scale_e', dtype: 'int8', shape: [V], params: {}, data: new Int8Array(V).fill(36) });
  return { ...q8, params: { ...q8.params, sharedClassifier: 0 }, tensors };
}

/**
 * q8 with every block matrix replaced by random vq2 tensors (docs/integer-spec.md §9.7): random
 * code bytes, a random int8 codebook in [-127, 127], the matrix scale (20000, 36) as the LUT
 * rows'. A matrix whose input is not whole blocks of 16 stays int8 (the plan's fallback).
 */
function randomVq(q8: QuantModel, seed: number): QuantModel {
  const rng = new Rng(seed, 'vq2');
  const out: QTensor[] = [];
  const vqNames = new Set(q8.tensors.filter((t) => (BLOCK_MATRICES as readonly string[]).includes(/^blocks\.\d+\.(\w+)$/.exec(t.name)?.[1] ?? '') && resolveMatrix({ bits: vq2Format.bits, groupSize: 0 }, t.shape[1]).format === vq2Format.name).map((t) => t.name));
  for (const t of q8.tensors) {
    const base = t.name.replace(/\.scale_[me]$/, '');
    if (!vqNames.has(base)) { out.push(t); continue; }
    if (t.name.endsWith('.scale_m')) { out.push({ ...t, shape: [1], data: Int16Array.of(20000) }); continue; }
    if (t.name.endsWith('.scale_e')) { out.push({ ...t, shape: [1], data: Int8Array.of(36) }); continue; }
    const [rows, cols] = t.shape;
    out.push({ name: t.name, dtype: vq2Format.name, shape: [rows, cols], params: {}, data: randomBytes(vq2CodeBytes(rows, cols), rng) });
    out.push({ name: `${t.name}.codebook`, dtype: 'int8', shape: [32, 2], params: {}, data: Int8Array.from(randomBytes(64, rng), (b) => Math.max(-127, (b << 24) >> 24)) });
  }
  return { ...q8, tensors: out };
}

/** Random planes and group bytes of a `bits`-bit [rows, cols] LUT matrix `name` (z2 in range). */
function randomLut(name: string, bits: PlanBits, rows: number, cols: number, rng: Rng): QTensor[] {
  const z2max = 2 * ((1 << bits) - 1);
  // The plan's fallback rule: stories15M's dim 288 takes G = 32.
  const r = resolveMatrix({ bits, groupSize: GS }, cols);
  if (r.format === 'int8') throw new Error(`bench: ${name} cannot be ${bits}-bit`);
  const gs = r.groupSize;
  const groups = randomBytes(groupBytes(rows, cols, gs), rng);
  for (let i = 0; i < groups.length; i++) if (i & 16) groups[i] %= z2max + 1;
  return [
    { name, dtype: formatNameOfBits(bits), shape: [rows, cols], params: { bits, groupSize: gs }, data: randomBytes(planeBytes(bits, rows, cols, gs), rng) },
    { name: `${name}.groups`, dtype: 'uint8', shape: [Math.ceil(rows / 16), cols / gs, 2, 16], params: {}, data: groups },
  ];
}

/** Weight bytes one forward step reads: every GEMV's matrix tensors (+ one embedding row). */
function bytesPerToken(b: Awaited<ReturnType<typeof bundleFromQuant>>): number {
  const c = b.contents;
  let sum = 0;
  for (const op of c.program.ops) {
    if (op.kind === 'embed') { sum += c.config.dim + 3; continue; } // one int8 row and its scale
    if (op.kind !== 'gemv' && op.kind !== 'gemv_lut' && op.kind !== 'gemv_vq' && op.kind !== 'classifier') continue;
    for (const r of op.inputs) if (r.kind === 'tensor') sum += c.tensors[r.index].data.length;
  }
  return sum;
}

const section: BenchSection = {
  id: 'lowbit',
  title: `low-bit bundles vs int8 (runtime.wasm in V8, greedy decode; LUT group size ${GS}, 32 where the input size needs it (stories15M dim 288); synthetic weights of the real shapes)`,
  async cases() {
    const simdLut = await buildLut('simd');
    const cases: BenchCase[] = [readProbe(simdLut, 256, 'lowbit')];
    const notes: string[] = [];
    // EDGEQ_BENCH_LOWBIT_SHAPES (comma-separated shapes) and EDGEQ_BENCH_LOWBIT_ROWS (comma-separated
    // row labels: int8, 6-bit, ..., vq2, 2-bit + cls4) select rows; int8 always runs (the baseline).
    const shapes = process.env.EDGEQ_BENCH_LOWBIT_SHAPES?.split(','), rowsWanted = process.env.EDGEQ_BENCH_LOWBIT_ROWS?.split(',');
    for (const [shape, tokens] of ([['stories15M', 16], ['stories110M', 4]] as const).filter(([s]) => !shapes || shapes.includes(s))) {
      const t0 = performance.now();
      const q8 = quantizeInt8(synthWeights({ ...SHAPES[shape] }, 1));
      notes.push(`${shape}: int8 quantization ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const runtimes = new Map<string, RuntimeBuild>();
      for (const target of ['wasm32', 'scalar'] as const) {
        const flavour = target === 'wasm32' ? 'SIMD' : 'scalar';
        // [block bits, classifier bits]: the opt-in low-bit classifier at the 110M shape only.
        const kinds: Array<[PlanBits, PlanBits | undefined]> = [[8, undefined], [6, undefined], [5, undefined], [4, undefined], [3, undefined], [vq2Format.bits, undefined], [2, undefined], [1, undefined]];
        if (shape === 'stories110M') kinds.push([4, 4], [2, 4], [2, 2]);
        for (const [bits, cls] of kinds) {
          const label = bits === 8 ? 'int8' : formatOfBits(bits).groupSizes.length ? `${bits}-bit${cls ? ` + cls${cls}` : ''}` : formatOfBits(bits).name;
          if (bits !== 8 && rowsWanted && !rowsWanted.includes(label)) continue;
          const grouped = formatOfBits(bits).groupSizes.length > 0;
          const model = bits === 8 ? q8 : randomLowbit(q8, bits, 1, cls);
          // The generated runtime depends on the config and the op kinds and count: one build per variant.
          const key = `${target}/${bits === 8 ? 'int8' : !grouped ? formatOfBits(bits).name : cls ? 'lut+cls' : 'lut'}`;
          const b = await bundleFromQuant({
            // The scalar build: the aarch64-linux profile (its RAM budget fits 110M) without SIMD.
            model, target: target === 'wasm32' ? loadTarget(target) : { ...loadTarget('aarch64-linux'), simd: false },
            plan: { kind: 'uniform', bits, groupSize: grouped ? GS : 0, ...(cls ? { classifier: { format: formatNameOfBits(cls), bits: cls, groupSize: GS } } : {}) },
            planName: bits === 8 ? 'uniform:8' : !grouped ? `uniform:${formatOfBits(bits).name}` : `uniform:${bits}g${GS}${cls ? `,cls${cls}g${GS}` : ''}`,
            sourceSha256: new Uint8Array(32), sourcePath: 'bench', vectors: 0, runtime: runtimes.get(key),
          });
          runtimes.set(key, b.runtime);
          const rt = await WasmRuntime.create(b.files['runtime.wasm'], b.files['model.edgeq'], model.params.vocabSize);
          const per = bytesPerToken(b);
          const name = `${shape} ${label} ${flavour} (${(per / 2 ** 20).toFixed(1)} MiB/token)`;
          cases.push({
            name, unit: 'tok/s', warmup: 1, runs: 3, run: () => greedyRuntime(rt, tokens),
            baseline: bits === 8 ? undefined : `lowbit/${shape} int8 ${flavour} (${(int8Bytes.get(`${shape}/${flavour}`)! / 2 ** 20).toFixed(1)} MiB/token)`,
          });
          if (bits === 8) int8Bytes.set(`${shape}/${flavour}`, per);
          if (flavour === 'SIMD') {
            cases.push({
              name: `${shape} ${label} SIMD weight bytes read`, unit: 'GB/s', warmup: 1, runs: 3,
              run: () => (greedyRuntime(rt, tokens) * per) / 1e9, baseline: 'lowbit/read 256 MB (wasm SIMD sum)',
            });
          }
        }
      }
    }
    console.log(`  (${notes.join('; ')})`);
    return cases;
  },
};
export default section;
