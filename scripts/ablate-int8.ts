// Which rounding step of the integer format costs how much accuracy (docs/integer-spec.md
// §7)? Runs the float64 simulator of compiler/eval/ablate.ts with every step on, with one
// step only, and with all but one, against the float reference. Usage:
//   node --import tsx scripts/ablate-int8.ts [--tokens 2000] [--model stories260K] [--int8-acts]
// --int8-acts simulates the first design (int8 activations and K, int16 query).
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { teacherForced, windows } from '../compiler/eval/teacher-forced.ts';
import { textTokens } from '../compiler/eval/text-stream.ts';
import { AblationTransformer, SITES, type AblationOptions, type Site } from '../compiler/eval/ablate.ts';

const { values } = parseArgs({ options: {
  tokens: { type: 'string', default: '2000' },
  model: { type: 'string', default: 'stories260K' },
  'int8-acts': { type: 'boolean', default: false },
} });
const models = process.env.EDGEQ_MODELS ?? resolve(import.meta.dirname, '../../shared/models');
const name = values.model!;
const tok = name === 'babyllama936K' ? 'tok105.bin' : 'tok512.bin';
const w = loadWeights(openModel(join(models, `${name}.bin`)));
const stream = textTokens(join(models, tok), join(models, 'tinystories-valid-head.txt'), Number(values.tokens)).tokens;
// The reference logits once, replayed for every configuration.
const ref = new FloatTransformer(w);
const refLogits: Float64Array[] = [];
for (const win of windows(stream, w.config.seqLen)) for (let p = 0; p + 1 < win.length; p++) refLogits.push(Float64Array.from(ref.forward(win[p], p)));
let next = 0;
const replay = { forward: () => refLogits[next++] };
const qmax: AblationOptions['qmax'] = values['int8-acts']
  ? { act_attn: 127, act_wo: 127, act_ffn: 127, act_w2: 127, act_cls: 127, q: 32767, k: 127 } : undefined;
const run = (label: string, sites: Site[]) => {
  next = 0;
  const m = teacherForced(stream, replay, new AblationTransformer(w, { sites: new Set(sites), qmax }), { seqLen: w.config.seqLen });
  console.log(`${label.padEnd(24)} top-1 ${(100 * m.top1Agreement).toFixed(2).padStart(6)}%  KL ${m.meanKL.toExponential(2)}  ppl ${m.pplTest.toFixed(4)} (float ${m.pplRef.toFixed(4)})`);
};
console.log(`${name}, ${stream.length} tokens${values['int8-acts'] ? ', int8 activations and K' : ''}`);
run('all steps', [...SITES]);
for (const s of SITES) run(`only ${s}`, [s]);
for (const s of SITES) run(`all but ${s}`, SITES.filter((x) => x !== s));
