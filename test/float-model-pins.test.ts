// Pins of the float models' exact outputs (issue 13 item 4: one float model, model.ts,
// serves the float reference and the float LoRA pass). They say nothing about correctness
// (float-reference.test.ts and float-lora.test.ts do that), only that a refactor moved no
// result.
// The reference pins were computed with the separate forward.ts that existed before the
// merge (commit cc77505); the merged model gives the same bits.
// The LoRA pins are the merged model's. The pass before the merge (its own float64 copy of
// the forward) computed RMSNorm as (g·x)·r and SiLU as a/(1+e^-a); the merged model uses
// run.c's g·(r·x) and a·(1/(1+e^-a)) in every mode. With only those two lines switched
// back, the merged model reproduced the old pass's hashes exactly (02b29f84…, 824a6ebf…,
// 6b53c0b5…); with run.c's order the loss moved by 4e-16 relative and the gradients by at
// most 2.3e-15 of their largest magnitude.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FloatWeights } from '../compiler/import/graph.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { FloatLoraTrainer } from '../compiler/reference/float/lora.ts';
import { PIN_MODELS, sha, tokenAt } from './helpers/float-pins.ts';

const POSITIONS = 64;
function referenceHash(w: FloatWeights, accumulate: 'float32' | 'float64'): string {
  const t = new FloatTransformer(w, { accumulate });
  const out: Float32Array[] = [];
  for (let p = 0; p < POSITIONS; p++) out.push(t.forward(tokenAt(p, w.config.vocabSize), p).slice());
  return sha(out);
}

function loraHash(w: FloatWeights): string {
  const seqLen = 32, ids = Int32Array.from({ length: seqLen + 1 }, (_, p) => tokenAt(p, w.config.vocabSize));
  const tr = new FloatLoraTrainer(w, { rank: 4, seqLen, lr: 0.1, seed: 3 });
  let s = 12345;
  const rnd = () => { s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff; return s / 0x7fffffff - 0.5; };
  for (const t of tr.tensors()) if (t.name.endsWith('lora_b')) for (let i = 0; i < t.w.length; i++) t.w[i] = 0.1 * rnd();
  const loss = tr.lossAndGradient(ids);
  const step = tr.step(ids);
  return sha([Float64Array.of(loss, step), ...tr.tensors().flatMap((t) => [t.g, t.w])]);
}

const PINS: Record<string, string> = {
  'stories260K float32': 'fbdce13183f524ec7015427d86875d77740bfad5a241e940669488df5f0dcd35',
  'stories260K float64': 'd7d3a0f212d127d8403622d51dcbb65d8d3156cf295c2f43f24d260f431f3076',
  'stories260K lora': '8ebe5e444381f0ea7a4e51470dc380b7bc7e2ac0a65177a3dbe69ecc9fcf99e3',
  'babyllama936K float32': '9670c4b16a6dbabd14d3f7ba159b3431cb7b356c7a54f3dc16a49dc826b853c3',
  'babyllama936K float64': '69d391c916c7a459297bdcef24f537c8bf99e819981d81d8fd6ff53eb776eeeb',
  'babyllama936K lora': '3dc99db609649b9e5c3aa29d8e2c2e6ae08911d38b09efd3432b9b5a094d4938',
  'stories260K+spec float32': '29d1da5cd68159f5b82df51488dd925998a33b08d97932b12dcb7838581f68dc',
  'stories260K+spec float64': 'c45b2be6baaec492b080f0b7b5f9bff3b30702c547aeb922727166f4eac41e73',
  'stories260K+spec lora': '6e1dddf80ba8fa091ea038f7751858608536de3c2c528da10d39c6bc9baba907',
};

for (const [name, get] of PIN_MODELS) {
  test(`${name}: float reference logits (${POSITIONS} positions, both accumulations) and LoRA loss and gradients unchanged`, () => {
    const w = get();
    const got: Record<string, string> = {
      [`${name} float32`]: referenceHash(w, 'float32'),
      [`${name} float64`]: referenceHash(w, 'float64'),
      [`${name} lora`]: loraHash(w),
    };
    if (process.env.PRINT_PINS) console.log(JSON.stringify(got, null, 2));
    for (const k of Object.keys(got)) assert.is(got[k], PINS[k], k);
  });
}

test.run();
