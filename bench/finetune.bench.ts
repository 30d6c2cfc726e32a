// Fine-tuning speed (issue 7): LoRA training steps on stories260K (rank 8, 32 positions per
// step) — the float LoRA reference (TypeScript, float64), the integer reference
// (TypeScript) and the generated training runtime in V8 (SIMD and scalar builds) — in
// predicted positions per second, with each trainer's peak memory in its row label (the
// references: their training buffers; the runtime: its whole linear memory, which also
// holds the 331 KB artifact, the 512-position KV cache and the inference arena). All on the
// same window, from the same initial adapter, in this one run.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BenchCase, BenchSection } from './harness.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { parsePlan } from '../compiler/plan/plan.ts';
import { FloatLoraTrainer } from '../compiler/reference/float/lora.ts';
import { createIntReferenceTrainer, initialAdapterState } from '../compiler/train/int-reference.ts';
import { createWasmTrainer } from '../compiler/engines/train-wasm.ts';
import type { Trainer } from '../compiler/train/trainer.ts';
import { IntTransformer } from '../runtime/reference/model.ts';

const MODELS = process.env.EDGEQ_MODELS ?? resolve(import.meta.dirname, '../../shared/models');
const CFG = { rank: 8, seqLen: 32, lr: 0.02, seed: 1 };

const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;

/** `memory` says what peakBytes() counts: the references count their training buffers, the runtime its whole linear memory. */
function stepCase(name: string, memory: string, t: Trainer, window: Int32Array, runs: number, baseline?: string): BenchCase {
  return {
    name: `${name} (${memory} ${kib(t.peakBytes())})`, unit: 'pos/s', runs, warmup: 1,
    run: () => { t.step(window); return window.length - 1; },
    ...(baseline ? { baseline } : {}),
  };
}

const section: BenchSection = {
  id: 'finetune',
  title: 'LoRA fine-tuning step, stories260K, rank 8, 32 positions (training positions per second)',
  async cases() {
    const path = resolve(MODELS, 'stories260K.bin');
    if (!existsSync(path)) { console.log(`(skipping finetune: ${path} not found; set EDGEQ_MODELS)`); return []; }
    const w = loadWeights(openModel(path));
    const m = quantizeInt8(w);
    // One window of the model's own greedy text.
    const it = new IntTransformer(m);
    const window = new Int32Array(CFG.seqLen + 1);
    window[0] = 1;
    for (let p = 0; p < CFG.seqLen; p++) window[p + 1] = it.argmax(it.forward(window[p], p));
    const sha = new Uint8Array(32);
    const bundle = await bundleFromQuant({
      model: m, target: loadTarget('wasm32'), plan: parsePlan('uniform:8'), planName: 'uniform:8',
      sourceSha256: sha, sourcePath: path, vectors: 0,
    });
    const artifactBytes = bundle.files['model.edgeq'];
    const state = initialAdapterState(m.params, CFG, new Uint8Array(createHash('sha256').update(artifactBytes).digest()));
    const tb = { artifactBytes, artifact: bundle.contents };
    const floatT = new FloatLoraTrainer(w, CFG);
    floatT.step(window); // its peak is known once a pass of this length exists
    const f = stepCase('float LoRA reference', 'float64 buffers', floatT, window, 5);
    const base = `finetune/${f.name}`;
    return [
      f,
      stepCase('integer reference (TS)', 'buffers', createIntReferenceTrainer(m, state), window, 3, base),
      stepCase('runtime V8 SIMD', 'linear memory', await createWasmTrainer(tb, state, { simd: true }), window, 5, base),
      stepCase('runtime V8 scalar', 'linear memory', await createWasmTrainer(tb, state, { simd: false }), window, 5, base),
    ];
  },
};
export default section;
