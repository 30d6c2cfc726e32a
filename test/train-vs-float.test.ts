// The integer trainer judged by the float LoRA reference (compiler/reference/float/lora.ts):
// same adapters (the same integer initial A), same tokens, same hyper-parameters. The
// float trainer runs on the float checkpoint, the integer one on its int8 quantization, so
// they differ by quantization only: the losses must track each other and the updates of
// every adapter tensor must point the same way with the same size.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveModels, model } from './helpers/models.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { IntTransformer } from '../runtime/reference/model.ts';
import { createIntReferenceTrainer, initialAdapterState } from '../compiler/train/int-reference.ts';
import { FloatLoraTrainer } from '../compiler/reference/float/lora.ts';

test('integer and float LoRA take the same steps on stories260K (loss, update direction and size)', () => {
  if (!haveModels) return;
  const w = loadWeights(openModel(model('stories260K.bin')));
  const m = quantizeInt8(w);
  const cfg = { rank: 8, seqLen: 24, lr: 0.5, seed: 11 };
  // Data the model finds unlikely (its own greedy text, reversed), so the steps are large.
  const it = new IntTransformer(m);
  const toks = new Int32Array(cfg.seqLen + 1);
  toks[0] = 1;
  for (let p = 0; p < cfg.seqLen; p++) toks[p + 1] = it.argmax(it.forward(toks[p], p));
  toks.reverse();
  const I = createIntReferenceTrainer(m, initialAdapterState(m.params, cfg, new Uint8Array(32)));
  const F = new FloatLoraTrainer(w, cfg);
  const s0 = I.state();
  for (let k = 0; k < 3; k++) {
    const li = I.step(toks), lf = F.step(toks);
    assert.ok(Math.abs(li - lf) < 0.01 * lf, `step ${k}: integer loss ${li.toFixed(4)}, float ${lf.toFixed(4)}`);
  }
  const s1 = I.state();
  for (const kind of ['lora_a', 'lora_b']) {
    let dot = 0, ni = 0, nf = 0;
    for (const f of F.tensors().filter((t) => t.name.endsWith(kind))) {
      const after = s1.tensors.find((t) => t.name === f.name)!.data;
      const before = s0.tensors.find((t) => t.name === f.name)!.data;
      const [rows, cols] = f.shape;
      for (let o = 0; o < rows; o++) {
        for (let j = 0; j < cols; j++) {
          // Integer tensors are stored rank-padded: A [rPad, din], B [dout, rPad].
          const k2 = kind === 'lora_a' ? o * cols + j : o * s1.rPad + j;
          const di = (after[k2] - before[k2]) * 2 ** -24;
          const df = f.w[o * cols + j] - before[k2] * 2 ** -24;
          dot += di * df; ni += di * di; nf += df * df;
        }
      }
    }
    const cos = dot / Math.sqrt(ni * nf), ratio = Math.sqrt(ni / nf);
    assert.ok(nf > 0, `${kind}: the float update is not zero`);
    assert.ok(cos > 0.99, `${kind}: cosine of integer and float updates ${cos.toFixed(4)}`);
    assert.ok(ratio > 0.95 && ratio < 1.05, `${kind}: norm ratio ${ratio.toFixed(4)}`);
  }
});

test.run();
