// Decode speed of the quantized KV cache (docs/kv-cache.md): runtime.wasm in V8 (SIMD and
// scalar builds) on the stories15M shape (synthetic weights; speed does not depend on the
// values), greedy decode over the whole context (256 positions, so attention over the cache
// weighs as much as it can), with k4v4, k4v4,w32, a 2-bit cache with anchors and the
// per-channel K block formats (§3.7.3; the SIMD build reads block rows with SIMD, the block
// requantization is scalar in both), each as a ratio to the default k12v8 cache of the same
// build measured in this same run. Then the
// kv_store_q kernel alone (the corpus harness's scalar and SIMD builds, test/kernels): 256
// positions of the same shape stored 10 times per run, SIMD as a ratio to scalar.
import type { BenchCase, BenchSection } from './harness.ts';
import { greedyRuntime } from './decode.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { parseKvFormat } from '../compiler/quantize/kv-cache.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';
import { buildFlavour, type KernelCase } from '../test/kernels/harness.ts';

const FORMATS = ['k12v8', 'k4v4', 'k4v4,w32', 'k2v2,w32,anchors=1%', 'k4v4,w32,kblock=32', 'k2v2,w32,kblock=8', 'k2v2,w32,kblock=8,anchors=1%'];

const section: BenchSection = {
  id: 'kv-cache',
  title: 'decode with a quantized KV cache vs the default k12v8 (stories15M shape, whole context, V8)',
  async cases() {
    const w = synthWeights({ ...SHAPES.stories15M }, 1);
    const base = quantizeInt8(w), tokens = w.config.seqLen;
    const out: BenchCase[] = [];
    // The wasm32 profile with and without SIMD (aarch64-linux runs the SIMD build too now).
    for (const [flavour, simd] of [['SIMD', true], ['scalar', false]] as const) {
      for (const kv of FORMATS) {
        const b = await bundleFromQuant({
          model: { ...base, kvCache: parseKvFormat(kv) }, target: { ...loadTarget('wasm32'), simd }, plan: { kind: 'uniform', bits: 8 }, planName: 'uniform:8',
          sourceSha256: new Uint8Array(32), sourcePath: 'bench', vectors: 1,
        });
        const rt = await WasmRuntime.create(b.files['runtime.wasm'], b.files['model.edgeq'], w.config.vocabSize);
        out.push({
          name: `${flavour} ${kv}`, unit: 'tok/s', runs: 3, run: () => greedyRuntime(rt, tokens),
          ...(kv === 'k12v8' ? {} : { baseline: `kv-cache/${flavour} k12v8` }),
        });
      }
    }
    out.push(...await storeCases(w.config.nKvHeads, w.config.dim / w.config.nHeads, tokens));
    return out;
  },
};

/** kv_store_q alone, scalar and SIMD kernels, k4v4,w32 and k2v2,w32: stores per second. */
async function storeCases(nKv: number, hs: number, S: number): Promise<BenchCase[]> {
  const kvD = nKv * hs, reps = 10, out: BenchCase[] = [];
  const k = Int32Array.from({ length: kvD }, (_, i) => ((i * 7919) % 20001 - 10000) * 37);
  const flavours = [await buildFlavour('scalar'), await buildFlavour('simd')];
  for (const [kBits, vBits, W] of [[4, 4, 32], [2, 2, 32]]) {
    const rows = (S + W) * nKv, name = `k${kBits}v${vBits},w${W}`;
    const c: KernelCase = {
      op: 'kv_store_q', label: name, compare: [], calls: [],
      buffers: {
        kc: new Int8Array(((S * kvD * kBits) >> 3) + W * kvD), kM: new Int16Array(rows), kE: new Int8Array(rows),
        vc: new Int8Array(((S * kvD * vBits) >> 3) + W * kvD), vM: new Int16Array(rows), vE: new Int8Array(rows),
        st: new Int32Array(1), row8: new Int8Array(hs), sc: new Int32Array(4), k, v: k,
      },
    };
    for (let r = 0; r < reps; r++) {
      for (let t = 0; t < S; t++) c.calls.push({ fn: 'kvStoreQ', args: ['kc', 'kM', 'kE', 'vc', 'vM', 'vE', 'k', 'v', t, S, nKv, hs, kBits, vBits, W, 0, 0, 'st', 'row8', 'sc'] });
    }
    for (const f of flavours) {
      const label = f.flavour === 'simd' ? 'SIMD' : 'scalar';
      out.push({
        name: `kv_store_q ${label} ${name}`, unit: 'stores/s', runs: 5, run: () => { f.run(c); return reps * S; },
        ...(f.flavour === 'simd' ? { baseline: `kv-cache/kv_store_q scalar ${name}` } : {}),
      });
    }
  }
  return out;
}
export default section;
