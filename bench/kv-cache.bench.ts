// Decode speed of the quantized KV cache (docs/kv-cache.md): runtime.wasm in V8 (SIMD and
// scalar builds) on the stories15M shape (synthetic weights; speed does not depend on the
// values), greedy decode over the whole context (256 positions, so attention over the cache
// weighs as much as it can), with k4v4, k4v4,w32 and a 2-bit cache with anchors, each as a
// ratio to the default k12v8 cache of the same build measured in this same run.
import type { BenchCase, BenchSection } from './harness.ts';
import { greedyRuntime } from './decode.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { parseKvFormat } from '../compiler/quantize/kv-cache.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';

const FORMATS = ['k12v8', 'k4v4', 'k4v4,w32', 'k2v2,w32,anchors=1%'];

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
    return out;
  },
};
export default section;
