// Bundles built in-process and shared by the runtime tests: each (model, target kind) is
// quantized, lowered, emitted and compiled once per test process.
import { openModel } from '../../compiler/import/open-model.ts';
import { loadWeights } from '../../compiler/import/graph.ts';
import { Tokenizer } from '../../compiler/import/tokenizer.ts';
import { quantizeInt8 } from '../../compiler/quantize/int8.ts';
import type { QuantModel } from '../../compiler/quantize/quant-model.ts';
import { bundleFromQuant, type QuantBundle } from '../../compiler/bundle.ts';
import { loadTarget } from '../../compiler/target/profile.ts';
import { WasmRuntime, type RuntimeExports } from '../../compiler/engines/wasm-runtime.ts';
import { SHAPES, synthWeights } from '../../compiler/synth/synth.ts';
import { model } from './models.ts';

export interface Built { model: QuantModel; bundle: QuantBundle; tokenizer?: Tokenizer }

const cache = new Map<string, Promise<Built>>();
const quant = new Map<string, QuantModel>();

function quantModel(name: string): QuantModel {
  let m = quant.get(name);
  if (!m) {
    m = name === 'synth15M'
      ? quantizeInt8(synthWeights(SHAPES.stories15M, 1))
      : quantizeInt8(loadWeights(openModel(model(`${name}.bin`))));
    quant.set(name, m);
  }
  return m;
}

const TOKENIZERS: Record<string, string> = { stories260K: 'tok512.bin', babyllama936K: 'tok105.bin' };

/** name: stories260K | babyllama936K | synth15M; target: wasm32 (SIMD) or cortex-m (scalar). */
export function built(name: string, target: 'wasm32' | 'cortex-m', vectors = 32): Promise<Built> {
  const key = `${name}/${target}/${vectors}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const m = quantModel(name);
      const tokenizer = TOKENIZERS[name] ? Tokenizer.load(model(TOKENIZERS[name])) : undefined;
      const bundle = await bundleFromQuant({
        model: m, target: loadTarget(target), plan: { kind: 'uniform', bits: 8 }, planName: 'uniform:8',
        tokenizer, sourceSha256: new Uint8Array(32), sourcePath: `${name}.bin`, vectors,
      });
      return { model: m, bundle, tokenizer };
    })();
    cache.set(key, p);
  }
  return p;
}

export async function instantiate(b: Built, artifact = b.bundle.files['model.edgeq']): Promise<WasmRuntime> {
  return WasmRuntime.create(b.bundle.files['runtime.wasm'], artifact, b.model.params.vocabSize);
}

/** The raw exports, for tests of error codes. */
export type RawExports = RuntimeExports;

export function raw(wasm: Uint8Array): RawExports {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(wasm)), { host: { print: () => {} } });
  return inst.exports as unknown as RawExports;
}

/** Copies `bytes` into a fresh instance (reserve + copy) and returns load()'s code. */
export function loadCode(wasm: Uint8Array, bytes: Uint8Array): { code: number; ex: RawExports } {
  const ex = raw(wasm);
  const ptr = ex.reserve(bytes.length);
  new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
  return { code: ex.load(bytes.length), ex };
}
