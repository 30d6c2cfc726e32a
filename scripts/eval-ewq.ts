// EWQ against uniform plans at equal size on the real models, and which per-block measure
// predicts quantization damage best (`npm run eval:plans -- --ewq`).
//
// Per model (L blocks, every block the same shape, so two plans that lower the same NUMBER
// of blocks to the same bits have the same model.edgeq bytes, whichever blocks, up to
// alignment padding of a few bytes):
//   1. uniform:8, uniform:4, uniform:3, teacher-forced on the first --tokens tokens (what
//      `edgeq eval` does: same text stream, windows, metrics: the plan's bundle built in
//      process (bundleFromQuant, target wasm32) and its runtime.wasm run in V8), with the float
//      reference computed once per model and replayed for every plan (recomputing the float
//      model for each plan, as `edgeq eval` does, made a 20,000-token run take hours on the
//      shared machine). model.edgeq
//      bytes: exactArtifactBytes (compiler/plan/size.ts), equal to what `edgeq compile
//      --vectors 0 --tokenizer <tok> --plan plan.json` writes (test/plan-size.test.ts).
//   2. Three predictors of a block's damage, each ranking the blocks (least damage first):
//      - softmax: EWQ's block entropy (softmax of the weights, nats), lowest first;
//      - code:    entropy of the histogram of the block's quantized codes at the lowered
//                 bits (g64), lowest first;
//      - damage:  measured — ΔKL when only that block is lowered (the others kept at the
//                 mix's high bits), on CALIBRATION tokens that the evaluation never sees
//                 (the --damage-tokens tokens after the first --tokens of the text),
//                 same engine (the plan's runtime.wasm); compiler/plan/damage.ts, the
//                 measurement `edgeq plan --method damage` makes.
//      and "anti": the softmax order reversed (a control: the opposite of EWQ).
//   3. Mixes (hi, lo, n): the n first blocks of a predictor's order at lo bits, the rest at hi:
//      8,4 n=3; 4,2 n=3 (smaller than uniform:3: equal-size comparison with uniform:3);
//      4,3 n=3 (3.4 average bits of the block weights: the "≤ 3.5 bits vs uniform:4" row).
//      A plan that two predictors agree on is evaluated once.
// Output: a Markdown report (tables ready for README) and one JSON line per measurement.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { exactArtifactBytes } from '../compiler/plan/size.ts';
import { codeEntropyMeasure, modelEntropies } from '../compiler/plan/entropy.ts';
import { teacherForced } from '../compiler/eval/teacher-forced.ts';
import { encodeParagraphs, readUtf8 } from '../compiler/eval/text-stream.ts';
import { KlMeter, ascending, bitsSpec, cachedReference, measureDamage, wasmEngine } from '../compiler/plan/damage.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { writeFileAtomic } from '../compiler/util/atomic-write.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MODELS: Array<[string, string]> = [['stories260K', 'tok512.bin'], ['babyllama936K', 'tok105.bin']];
/** Spearman rank correlation (average ranks for ties). */
export function spearman(a: number[], b: number[]): number {
  const rank = (v: number[]) => {
    const idx = v.map((x, i) => i).sort((i, j) => v[i] - v[j]), r = new Array<number>(v.length);
    for (let i = 0; i < idx.length;) {
      let j = i; while (j + 1 < idx.length && v[idx[j + 1]] === v[idx[i]]) j++;
      for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a), rb = rank(b), n = a.length, ma = ra.reduce((s, x) => s + x, 0) / n, mb = rb.reduce((s, x) => s + x, 0) / n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) { num += (ra[i] - ma) * (rb[i] - mb); da += (ra[i] - ma) ** 2; db += (rb[i] - mb) ** 2; }
  return da && db ? num / Math.sqrt(da * db) : 0;
}

interface Result { bytes: number; top1: number; kl: number; ppl: number; ppl_ref: number }

export async function evalEwq(o: { tokens: string; damageTokens: string; model?: string; out: string; save?: string }): Promise<void> {
  const models = process.env.EDGEQ_MODELS ?? resolve(ROOT, '../shared/models');
  const text = join(models, 'tinystories-valid-head.txt');
  const nTok = Number(o.tokens), nCal = Number(o.damageTokens);
  const jsonl: string[] = [];
  const planRows: string[] = [], predRows: string[] = [], corrRows: string[] = [];
  const t00 = Date.now();
  const report = (final: boolean) => {
    const md: string[] = [];
    md.push(`Teacher-forced on the first ${nTok} tokens of tinystories-valid-head.txt (the plan's runtime.wasm in V8 against the float reference, float64); model.edgeq bytes exact for \`edgeq compile --vectors 0 --tokenizer <tok>\`. Measured damage: ΔKL on the next ${nCal} tokens (calibration, never evaluated).`, '');
    md.push('| model | plan | bits per block | avg bits | model.edgeq bytes | top-1 | KL | ppl |', '|---|---|---|---|---|---|---|---|', ...planRows, '');
    md.push('Per-block measures (block 0 … L−1):', '', '| model | measure | per block |', '|---|---|---|', ...predRows, '');
    md.push('Measured damage ΔKL per block (calibration tokens) and how the entropies rank it (Spearman ρ, n = L):', '',
      '| model | lowered | ΔKL per block | ρ(softmax entropy, ΔKL) | ρ(code entropy, ΔKL) |', '|---|---|---|---|---|', ...corrRows, '');
    md.push(`(${final ? 'finished' : 'IN PROGRESS'}, ${((Date.now() - t00) / 60000).toFixed(1)} min)`);
    const s = md.join('\n') + '\n';
    if (o.save) { writeFileAtomic(`${o.save}.md`, s); writeFileAtomic(`${o.save}.json`, jsonl.join('\n') + '\n'); }
    return s;
  };
  const log = (x: Record<string, unknown>) => { const s = JSON.stringify(x); jsonl.push(s); console.log(s); };
  for (const [name, tok] of MODELS) {
    if (o.model && o.model !== name) continue;
    const ckpt = join(models, `${name}.bin`), tokp = join(models, tok);
    if (!existsSync(ckpt)) { console.error(`eval-ewq: ${ckpt} not found, skipped`); continue; }
    const g = openModel(ckpt), L = g.config.nLayers, tokenizer = Tokenizer.load(tokp);
    const weights = loadWeights(g);
    const all = encodeParagraphs(tokenizer, readUtf8(text), nTok + nCal).tokens;
    if (all.length < nTok + nCal) throw new Error(`eval-ewq: the text has only ${all.length} tokens for ${name}`);
    // Calibration tokens come after the evaluation's, so the damage predictor never sees them.
    const evalStream = all.slice(0, nTok), calStream = all.slice(nTok);
    const refEval = cachedReference(new FloatTransformer(weights, { accumulate: 'float64' }));
    // The measured damage (compiler/plan/damage.ts, also edgeq plan --method damage): plans run
    // as runtime.wasm in V8 (what edgeq eval runs), on the calibration tokens.
    const meter = new KlMeter(g, weights, calStream);
    const done = new Map<string, Result>();
    const run = async (bits: number[]): Promise<Result> => {
      const key = bits.join(',');
      const hit = done.get(key);
      if (hit) return hit;
      const t0 = Date.now(), plan = bitsSpec(bits);
      const m = quantizeInt8(weights, { plan });
      const r = teacherForced(evalStream, refEval(), await wasmEngine(g, m, plan), { seqLen: g.config.seqLen });
      const bytes = exactArtifactBytes(g.config, plan, { target: { name: 'wasm32', simd: true }, sourcePath: ckpt, vectors: 0, tokenizer });
      const res = { bytes, top1: r.top1Agreement, kl: r.meanKL, ppl: r.pplTest, ppl_ref: r.pplRef };
      log({ model: name, bits: key, ...res, tokens: r.tokens, seconds: (Date.now() - t0) / 1000, elapsed: (Date.now() - t00) / 1000 });
      done.set(key, res);
      return res;
    };
    const fmt = (r: Result) => `${r.bytes} | ${(100 * r.top1).toFixed(2)}% | ${r.kl.toFixed(4)} | ${r.ppl.toFixed(3)}`;
    const uniform = async (b: number) => {
      const r = await run(Array(L).fill(b));
      planRows.push(`| ${name} | uniform:${b}${b === 8 ? '' : 'g64'} | ${Array(L).fill(b).join(',')} | ${b.toFixed(1)} | ${fmt(r)} (float ${r.ppl_ref.toFixed(3)}) |`);
      report(false);
    };
    const soft = modelEntropies(g).map((b) => b.entropy);
    const codeCache = new Map<number, number[]>();
    const code = (lo: number) => {
      if (!codeCache.has(lo)) codeCache.set(lo, modelEntropies(g, codeEntropyMeasure(lo as 2 | 3 | 4, 64)).map((b) => b.entropy));
      return codeCache.get(lo)!;
    };
    predRows.push(`| ${name} | softmax entropy (nats) | ${soft.map((x) => x.toFixed(6)).join(', ')} |`);
    for (const lo of [4, 3, 2]) predRows.push(`| ${name} | code entropy ${lo}-bit g64 (bits) | ${code(lo).map((x) => x.toFixed(4)).join(', ')} |`);
    const damage = async (hi: number, lo: number) => {
      const t0 = Date.now();
      const { baseKl, deltaKl } = await measureDamage(meter, hi, lo);
      log({ model: name, damage: `${hi}->${lo}`, calibrationTokens: calStream.length, baseKl, deltaKl, seconds: (Date.now() - t0) / 1000 });
      return deltaKl;
    };
    const mix = async (hi: number, lo: number, n: number, what: string) => {
      const c = code(lo), d = await damage(hi, lo);
      corrRows.push(`| ${name} | ${hi}→${lo} | ${d.map((x) => x.toFixed(4)).join(', ')} | ${spearman(soft, d).toFixed(2)} | ${spearman(c, d).toFixed(2)} |`);
      const orders: Array<[string, number[]]> = [
        ['EWQ (softmax entropy)', ascending(soft)],
        ['code-histogram entropy', ascending(c)],
        ['measured damage (calibration)', ascending(d)],
        ['anti-EWQ (highest softmax entropy lowered)', ascending(soft.map((x) => -x))],
      ];
      const avg = (hi * (L - n) + lo * n) / L;
      for (const [pred, order] of orders) {
        const bits = Array(L).fill(hi);
        for (const i of order.slice(0, n)) bits[i] = lo;
        planRows.push(`| ${name} | ${hi},${lo} ×${n} (${what}): ${pred} | ${bits.join(',')} | ${avg.toFixed(1)} | ${fmt(await run(bits))} |`);
        report(false);
      }
    };
    // Most important first, so that a run cut short still has the comparisons that matter.
    await uniform(4); await uniform(3);
    await mix(4, 3, 3, '3.4 average bits, against uniform:4');
    await mix(4, 2, 3, 'smaller than uniform:3');
    await uniform(8);
    await mix(8, 4, 3, 'between uniform:8 and uniform:4');
  }
  console.log('\n' + report(true));
}
