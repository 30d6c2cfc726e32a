// Accuracy of the int8 integer model against the float reference on real text
// (docs/integer-spec.md §7). Usage:
//   node --import tsx scripts/eval-int8.ts [--tokens 20000] [--gptq] [--model stories260K|babyllama936K]
// Prints one JSON line per model: top-1 agreement, mean/max KL(float || int), perplexities.
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { intEngine, teacherForced } from '../compiler/eval/teacher-forced.ts';
import { textTokens } from '../compiler/eval/text-stream.ts';

const { values } = parseArgs({ options: {
  tokens: { type: 'string', default: '20000' },
  gptq: { type: 'boolean', default: false },
  model: { type: 'string' },
} });
const models = process.env.EDGEQ_MODELS ?? resolve(import.meta.dirname, '../../shared/models');
const MODELS: Array<[string, string]> = [['stories260K', 'tok512.bin'], ['babyllama936K', 'tok105.bin']];
for (const [name, tok] of MODELS) {
  if (values.model && values.model !== name) continue;
  const w = loadWeights(openModel(join(models, `${name}.bin`)));
  const s = textTokens(join(models, tok), join(models, 'tinystories-valid-head.txt'), Number(values.tokens));
  let t = Date.now();
  const qm = quantizeInt8(w, values.gptq ? { gptq: {} } : {});
  const quantSec = (Date.now() - t) / 1000;
  t = Date.now();
  const m = teacherForced(s.tokens, new FloatTransformer(w), intEngine(qm), { seqLen: w.config.seqLen });
  console.log(JSON.stringify({ model: name, weights: values.gptq ? 'gptq' : 'round-to-nearest', ...m, quantSec, evalSec: (Date.now() - t) / 1000 }));
}
