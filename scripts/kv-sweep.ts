// npm run kv-sweep -- <checkpoint> <tokenizer> [--tokens N] [--formats k12v8,k4v4,...] [--buckets B] [--json] [--svg <file>]
// npm run kv-sweep -- --synth <shape> [--formats ...] [--runs N] [--json]: cache bytes and decode speed only (kv-sweep-synth.ts)
//
// Quality of each KV cache format (docs/kv-cache.md): the integer reference
// (runtime/reference/model.ts) with the format, teacher-forced against the float reference
// over full-context windows of the text (compiler/eval/teacher-forced.ts: each window
// starts at position 0 with BOS), as mean KL and top-1 agreement, and the mean KL per
// position bucket (how the error grows along the context).
import { readFileSync } from 'node:fs';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { parseKvFormat } from '../compiler/quantize/kv-cache.ts';
import { intEngine, windows } from '../compiler/eval/teacher-forced.ts';
import { argmax, klFromLogProbs, logSoftmax } from '../compiler/eval/metrics.ts';
import { encodeParagraphs } from '../compiler/eval/text-stream.ts';
import { kvBucketSvg } from '../compiler/eval/kv-bucket-svg.ts';
import { writeFileAtomic } from '../compiler/util/atomic-write.ts';
import { loadTokenizerFile } from '../compiler/import/tokenizers/load.ts';
import { synthSweep } from './kv-sweep-synth.ts';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
// Formats are separated by the comma before each 'k<digit>' (a format's own commas precede w, kblock, anchors, rot).
const formatList = (def: string) => flag('--formats', def).split(/,(?=k\d)/);
const synthShape = flag('--synth', '');
if (synthShape) {
  const rows = await synthSweep(synthShape, formatList('k12v8,k8v8,k4v4,k4v4,w32,k4v4,w32,anchors=1%,k4v2,w32,anchors=1%,k2v2,w32,anchors=1%'), Number(flag('--runs', '3')));
  if (args.includes('--json')) process.stdout.write(JSON.stringify({ shape: synthShape, synthetic: true, results: rows }, null, 2) + '\n');
  process.exit(0);
}
const [ckpt, tokPath] = args;
if (!ckpt || !tokPath) { process.stderr.write('usage: npm run kv-sweep -- <checkpoint> <tokenizer> [--tokens N] [--formats a,b] [--buckets B] [--json] [--svg <file>]\n'); process.exit(2); }
const tokens = Number(flag('--tokens', '20000'));
const formats = formatList('k12v8,k8v8,k4v4,k4v4,w32,k2v2,k2v2,w32,k2v2,w32,anchors=1%,k2v2,w32,anchors=5%,k4v4,w32,anchors=1%');
const n0 = (r: Array<{ tokens: number }>) => r[0]?.tokens ?? 0;
const nBuckets = Number(flag('--buckets', '8'));
const text = readFileSync(flag('--text', `${import.meta.dirname}/../../shared/models/tinystories-valid-head.txt`), 'utf8');

const graph = openModel(ckpt);
const weights = loadWeights(graph);
const base = quantizeInt8(weights);
const S = base.params.seqLen;
const stream = encodeParagraphs(loadTokenizerFile(tokPath), text, tokens).tokens;
const wins = windows(stream, S);
// The float reference's log-probabilities, once for every format.
const ref = new FloatTransformer(weights, { accumulate: 'float64' });
const refLp: Float64Array[][] = wins.map((w) => w.slice(0, -1).map((t, p) => logSoftmax(ref.forward(t, p))));
const results: Array<{ format: string; kl: number; top1: number; tokens: number; klByBucket: number[] }> = [];
for (const f of formats) {
  const eng = intEngine({ ...base, kvCache: parseKvFormat(f) });
  let kl = 0, top1 = 0, n = 0;
  const bk = new Float64Array(nBuckets), bn = new Float64Array(nBuckets);
  wins.forEach((w, wi) => {
    for (let p = 0; p + 1 < w.length; p++) {
      const lq = logSoftmax(eng.forward(w[p], p)), lp = refLp[wi][p];
      const k = klFromLogProbs(lp, lq);
      kl += k; n++;
      if (argmax(lp) === argmax(lq)) top1++;
      const b = Math.min(nBuckets - 1, Math.floor((p * nBuckets) / S));
      bk[b] += k; bn[b]++;
    }
  });
  const r = { format: f, kl: kl / n, top1: top1 / n, tokens: n, klByBucket: Array.from(bk, (v, i) => v / Math.max(1, bn[i])) };
  results.push(r);
  process.stderr.write(`${f.padEnd(10)} KL ${r.kl.toFixed(5)}  top-1 ${(100 * r.top1).toFixed(2)}%  (${n} tokens)  KL by position bucket of ${S / nBuckets}: ${r.klByBucket.map((v) => v.toFixed(4)).join(' ')}\n`);
}
const svgOut = flag('--svg', '');
if (svgOut) writeFileAtomic(svgOut, kvBucketSvg(`KL by position, ${ckpt.split('/').pop()} (${n0(results)} tokens per format)`, S, results));
if (args.includes('--json')) process.stdout.write(JSON.stringify({ checkpoint: ckpt, seqLen: S, results }, null, 2) + '\n');
