// The integer fine-tuning reference (runtime/reference/train.ts) on stories260K: its
// forward with a fresh adapter (B = 0) is the inference forward to the byte, training
// lowers the loss, runs are deterministic, and a resumed run equals an uninterrupted one
// byte for byte. Agreement with the float LoRA reference is in test/train-vs-float.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveModels, model } from './helpers/models.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import type { QuantModel } from '../compiler/quantize/quant-model.ts';
import { IntTransformer } from '../runtime/reference/model.ts';
import { createIntReferenceTrainer, initialAdapterState, intTrainerFromState } from '../compiler/train/int-reference.ts';
import type { AdapterState } from '../compiler/train/trainer.ts';

let qm: QuantModel | undefined;
const base = (): QuantModel => (qm ??= quantizeInt8(loadWeights(openModel(model('stories260K.bin')))));
const SHA = new Uint8Array(32);
const cfg = { rank: 8, seqLen: 16, lr: 0.5, seed: 7 };

/** A fixed token run: the model's own greedy continuation of BOS (plausible text). */
function tokensOf(n: number, start = 1): Int32Array {
  const it = new IntTransformer(base());
  const out = new Int32Array(n);
  out[0] = start;
  for (let p = 0; p + 1 < n; p++) out[p + 1] = it.argmax(it.forward(out[p], p));
  return out;
}

const bytesOf = (s: AdapterState): Buffer => Buffer.concat(s.tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)));

test('a fresh adapter (B = 0) leaves the forward pass byte-identical to inference', () => {
  if (!haveModels) return;
  const m = base();
  const s = initialAdapterState(m.params, cfg, SHA);
  const tr = intTrainerFromState(m, s);
  const it = new IntTransformer(m);
  const toks = tokensOf(12);
  for (let p = 0; p < 12; p++) {
    const a = tr.forward(toks[p], p).slice();
    const b = it.forward(toks[p], p);
    assert.equal(Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))), 0, `position ${p}`);
  }
});

test('training lowers the loss on its data, deterministically', () => {
  if (!haveModels) return;
  const m = base();
  const toks = tokensOf(cfg.seqLen + 1, 1);
  // Learn an unlikely continuation: reverse the model's own text.
  toks.reverse();
  const run = () => {
    const tr = createIntReferenceTrainer(m, initialAdapterState(m.params, cfg, SHA));
    const losses: number[] = [];
    for (let i = 0; i < 12; i++) losses.push(tr.step(toks));
    return { losses, state: tr.state() };
  };
  const a = run(), b = run();
  assert.ok(a.losses[11] < a.losses[0] - 0.3, `loss ${a.losses[0].toFixed(3)} -> ${a.losses[11].toFixed(3)}`);
  assert.equal(a.losses, b.losses);
  assert.ok(bytesOf(a.state).equals(bytesOf(b.state)), 'same adapter bytes');
  assert.equal(a.state.step, 12);
  // The padded rows of A and columns of B (rank 8 of 16) stay exactly zero.
  for (const t of a.state.tensors) {
    if (!t.name.endsWith('lora_a')) continue;
    assert.ok(t.data.subarray(8 * t.shape[1]).every((v) => v === 0), `${t.name} padding`);
  }
});

test('resuming from a saved state gives the same bytes as an uninterrupted run', () => {
  if (!haveModels) return;
  const m = base();
  const w1 = tokensOf(cfg.seqLen + 1, 1), w2 = tokensOf(cfg.seqLen + 1, 2);
  const s0 = initialAdapterState(m.params, cfg, SHA);
  const straight = createIntReferenceTrainer(m, s0);
  for (const w of [w1, w2, w1, w2]) straight.step(w);
  const first = createIntReferenceTrainer(m, s0);
  first.step(w1); first.step(w2);
  const resumed = createIntReferenceTrainer(m, first.state());
  resumed.step(w1); resumed.step(w2);
  const a = straight.state(), b = resumed.state();
  assert.equal([a.step, a.rngLo, a.rngHi], [b.step, b.rngLo, b.rngHi]);
  assert.ok(bytesOf(a).equals(bytesOf(b)));
});

test.run();
