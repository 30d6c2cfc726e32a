// The int8 runtime (runtime.wasm in V8, SIMD and scalar builds) against the float
// reference: greedy decoding from BOS, tokens per second, for the real stories260K and the
// stories15M and stories110M shapes (synthetic weights of the real shapes; speed does not
// depend on the values). Ratios are to the float reference measured in this same run.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BenchCase, BenchSection } from './harness.ts';
import type { FloatWeights } from '../compiler/import/graph.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { greedyFloat, greedyRuntime } from './decode.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';

const MODELS = process.env.EDGEQ_MODELS ?? resolve(import.meta.dirname, '../../shared/models');

async function runtimes(w: FloatWeights): Promise<{ simd: WasmRuntime; scalar: WasmRuntime }> {
  const model = quantizeInt8(w);
  const make = async (target: string) => {
    const b = await bundleFromQuant({
      model, target: loadTarget(target), plan: { kind: 'uniform', bits: 8 }, planName: 'uniform:8',
      sourceSha256: new Uint8Array(32), sourcePath: 'bench', vectors: 1,
    });
    return WasmRuntime.create(b.files['runtime.wasm'], b.files['model.edgeq'], w.config.vocabSize);
  };
  // wasm32 is the SIMD target; aarch64-linux runs the scalar build of the same program.
  return { simd: await make('wasm32'), scalar: await make('aarch64-linux') };
}

async function cases(model: string, w: FloatWeights, tokens: { float: number; wasm: number }, runs: number): Promise<BenchCase[]> {
  const { simd, scalar } = await runtimes(w);
  const base = `int8-runtime/${model} float reference`;
  return [
    { name: `${model} float reference`, unit: 'tok/s', runs, run: () => greedyFloat(w, tokens.float) },
    { name: `${model} int8 wasm SIMD`, unit: 'tok/s', runs, run: () => greedyRuntime(simd, tokens.wasm), baseline: base },
    { name: `${model} int8 wasm scalar`, unit: 'tok/s', runs, run: () => greedyRuntime(scalar, tokens.wasm), baseline: base },
  ];
}

const section: BenchSection = {
  id: 'int8-runtime',
  title: 'int8 runtime in V8 vs float reference (greedy decode from BOS)',
  async cases() {
    const out: BenchCase[] = [];
    const real = resolve(MODELS, 'stories260K.bin');
    if (existsSync(real)) out.push(...await cases('stories260K', loadWeights(openModel(real)), { float: 128, wasm: 256 }, 5));
    else console.log(`(skipping stories260K: ${real} not found; set EDGEQ_MODELS)`);
    out.push(...await cases('stories15M-synth', synthWeights({ ...SHAPES.stories15M }, 1), { float: 8, wasm: 32 }, 3));
    out.push(...await cases('stories110M-synth', synthWeights({ ...SHAPES.stories110M }, 1), { float: 2, wasm: 8 }, 3));
    return out;
  },
};
export default section;
