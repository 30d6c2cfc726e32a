// npm run quality: the quality harness (issue 15). For stories260K and babyllama936K, every
// weight format and some mixed plans: bits per weight (block matrices; whole model.edgeq)
// against mean KL, top-1 and perplexity over --tokens tokens of TinyStories validation text,
// scored over all positions and over each window's second half (compiler/eval/quality.ts).
// Each plan runs as `edgeq eval` runs it: its bundle built in process, runtime.wasm in V8; the
// float reference is computed once per model. Writes docs/quality.md, docs/quality.svg and
// docs/quality.json (or --out <prefix>), keeping the report's hand-written notes (NOTES_MARKER). Options: --tokens N (default 20000), --model <name>,
// --plans <a;b;...> (plan strings, mix:<name> or mixed:<bpw>[,kl0] — `edgeq plan --method mixed
// --bpw <bpw>` planned in process — each with optional +awq/+gptq, separated by ';').
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights, type FloatWeights } from '../compiler/import/graph.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { CALIBRATION_LENGTH, CALIBRATION_SEQUENCES, calibrateStats, type CalibrationStats } from '../compiler/quantize/calibrate.ts';
import { SENSITIVITY_TOKENS, measureSensitivity, planMixed, scoreMatrices, selfGeneratedStream, type MatrixScores } from '../compiler/plan/mixed.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { ewqPlanJson } from '../compiler/plan/ewq.ts';
import { encodeParagraphs, readUtf8 } from '../compiler/eval/text-stream.ts';
import { cachedReference } from '../compiler/plan/damage.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';
import { runtimeLogitsEngine } from '../compiler/engines/bundle.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { parsePlan, planFromJson, type PlanSpec } from '../compiler/plan/plan.ts';
import { blockMatrixBytes, blockWeights, frontier, modelParams, scoreBoth, type HalfScored } from '../compiler/eval/quality.ts';
import { qualitySvg } from '../compiler/eval/quality-svg.ts';
import { writeFileAtomic } from '../compiler/util/atomic-write.ts';

const ROOT = resolve(import.meta.dirname, '..');
export const MODELS: ReadonlyArray<[string, string]> = [['stories260K', 'tok512.bin'], ['babyllama936K', 'tok105.bin']];
export const UNIFORM_PLANS = ['uniform:8', 'uniform:6g32', 'uniform:5g32', 'uniform:5g64', 'uniform:4g32', 'uniform:4g64', 'uniform:3g32', 'uniform:3g64', 'uniform:2g32', 'uniform:2g64', 'uniform:vq2', 'uniform:1g32'];

/** Mixed plans: a default choice and per-matrix overrides applied in every block. */
export const MIXES: Record<string, { default: { bits: number; groupSize?: number }; matrices: Record<string, { bits: number; groupSize?: number }> }> = {
  'mix:4g32+v5w2_5': { default: { bits: 4, groupSize: 32 }, matrices: { wv: { bits: 5, groupSize: 32 }, w2: { bits: 5, groupSize: 32 } } },
  'mix:5g64+w13_4': { default: { bits: 5, groupSize: 64 }, matrices: { w1: { bits: 4, groupSize: 64 }, w3: { bits: 4, groupSize: 64 } } },
  'mix:3g32+v4w2_4': { default: { bits: 3, groupSize: 32 }, matrices: { wv: { bits: 4, groupSize: 32 }, w2: { bits: 4, groupSize: 32 } } },
  'mix:2g32+v3w2_3': { default: { bits: 2, groupSize: 32 }, matrices: { wv: { bits: 3, groupSize: 32 }, w2: { bits: 3, groupSize: 32 } } },
  // Under 2.6 bits per block weight on babyllama936K (2.56 and 2.54, measured): the 2-bit budget.
  'mix:2g64+kv_3': { default: { bits: 2, groupSize: 64 }, matrices: { wk: { bits: 3, groupSize: 64 }, wv: { bits: 3, groupSize: 64 } } },
  'mix:2g32+w13_2g64': { default: { bits: 2, groupSize: 32 }, matrices: { w1: { bits: 2, groupSize: 64 }, w3: { bits: 2, groupSize: 64 } } },
};

/** GPTQ variants: `<plan>+gptq` quantizes with GPTQ on the model's self-generated calibration text. */
export const GPTQ_PLANS = ['uniform:5g64+gptq', 'uniform:4g32+gptq', 'uniform:4g64+gptq', 'uniform:3g32+gptq', 'uniform:3g64+gptq', 'uniform:2g32+gptq', 'uniform:2g64+gptq', 'uniform:vq2+gptq', 'mix:4g32+v5w2_5+gptq', 'mix:2g32+v3w2_3+gptq', 'mix:2g64+kv_3+gptq', 'mix:2g32+w13_2g64+gptq'];
/** AWQ variants: `<plan>+awq[+gptq]` folds AWQ scales (compiler/quantize/awq.ts) before quantizing (then by GPTQ). */
export const AWQ_PLANS = ['uniform:4g64+awq', 'uniform:4g64+awq+gptq', 'uniform:3g64+awq', 'uniform:3g64+awq+gptq', 'uniform:2g64+awq', 'uniform:2g64+awq+gptq', 'uniform:2g32+awq', 'uniform:2g32+awq+gptq'];

/** A plan name's base (plan string or mix name) and its weight-choice suffixes, in the order `+awq+gptq`. */
export function splitPlanName(name: string): { base: string; awq: boolean; gptq: boolean } {
  const gptq = name.endsWith('+gptq');
  if (gptq) name = name.slice(0, -'+gptq'.length);
  const awq = name.endsWith('+awq');
  if (awq) name = name.slice(0, -'+awq'.length);
  return { base: name, awq, gptq };
}

/** The PlanSpec of a plan string or a mix name (without its +awq/+gptq suffixes), for a model of `layers` blocks. */
export function planOf(name: string, layers: number): PlanSpec {
  name = splitPlanName(name).base;
  const mix = MIXES[name];
  if (!mix) return parsePlan(name);
  const blocks = Object.fromEntries(Array.from({ length: layers }, (_, l) => [String(l), { ...mix.default, matrices: mix.matrices }]));
  return { ...planFromJson({ edgeqPlan: 1, default: mix.default, blocks }, `${name}.json`), name };
}

export interface QualityRow extends HalfScored {
  model: string; plan: string; blockBpw: number; modelBpw: number; modelBytes: number; seconds: number;
}

/** Mixed plans measured by default: `mixed:<bpw>` is `edgeq plan --method mixed --bpw <bpw>` (with --gptq when `+gptq`). */
export const MIXED_PLANS = ['mixed:6+gptq', 'mixed:5.5+gptq', 'mixed:4.6+gptq', 'mixed:3.6+gptq', 'mixed:2.6+gptq'];

/** The bits per block weight of a `mixed:<bpw>[,kl0]` base name (`,kl0`: without the KL refinement, --kl-tokens 0); undefined for other plans. */
export function mixedBpw(base: string): { bpw: number; kl: boolean } | undefined {
  const m = /^mixed:(\d+(?:\.\d+)?)(,kl0)?$/.exec(base);
  return m ? { bpw: Number(m[1]), kl: !m[2] } : undefined;
}

/** Measures `plans` on one model over `stream` (the float reference computed once). */
export async function measureModel(model: string, w: FloatWeights, stream: readonly number[], plans: readonly string[], say = (_: string) => {}, onRow = (_: QualityRow[]) => {}): Promise<QualityRow[]> {
  const c = w.config, ref = cachedReference(new FloatTransformer(w, { accumulate: 'float64' }));
  const rows: QualityRow[] = [];
  let stats: CalibrationStats | null = null;
  // Mixed plans' format scores, by quantizer (GPTQ or the clip search): computed once per model.
  const scored = new Map<string, MatrixScores[]>();
  for (const name of plans) {
    const t0 = Date.now(), how = splitPlanName(name), mixed = mixedBpw(how.base);
    if (how.awq || how.gptq || mixed) stats ??= calibrateStats(w);
    let plan: PlanSpec;
    if (mixed) {
      // edgeq plan --method mixed --bpw <bpw> [--gptq] [--kl-tokens 0], as the CLI plans it (the plan file read back as compile reads it).
      if (how.awq) throw new Error(`quality: ${name}: mixed plans are scored without AWQ; drop +awq`);
      const key = `${how.gptq} ${mixed.kl}`;
      let scores = scored.get(key);
      if (!scores) {
        const progress = (done: number, total: number, what: string) => say(`quality: ${model} ${name}: [${done}/${total}] ${what}`);
        scores = scored.get(`${how.gptq} false`) ?? scoreMatrices(w, stats!.hessians, { gptq: how.gptq, progress });
        scored.set(`${how.gptq} false`, scores);
        if (mixed.kl) scores = await measureSensitivity(w, scores, stats!.hessians, selfGeneratedStream(w, SENSITIVITY_TOKENS), { gptq: how.gptq, progress });
        scored.set(key, scores);
      }
      let p;
      try {
        p = planMixed(c, scores, { bpw: mixed.bpw, gptq: how.gptq, calibrationTokens: CALIBRATION_SEQUENCES * CALIBRATION_LENGTH, klTokens: mixed.kl ? SENSITIVITY_TOKENS : undefined, sourcePath: `${model}.bin`, vectors: 0 });
      } catch (e) {
        if (!(e instanceof EdgeqError)) throw e;
        say(`quality: ${model} ${name}: refused: ${e.message}`);
        continue;
      }
      plan = { ...planFromJson(ewqPlanJson(p), `${how.base}.json`), name };
    } else plan = planOf(name, c.nLayers);
    const m = quantizeInt8(w, {
      plan,
      ...(how.awq ? { awq: { stats: stats! } } : {}),
      ...(how.gptq ? { gptq: how.awq ? {} : { hessians: stats!.hessians } } : {}),
    });
    const b = await bundleFromQuant({ model: m, target: loadTarget('wasm32'), plan, planName: name, sourceSha256: new Uint8Array(32), sourcePath: `${model}.bin`, vectors: 0 });
    const test = runtimeLogitsEngine(await WasmRuntime.create(b.files['runtime.wasm'], b.files['model.edgeq'], c.vocabSize, name));
    const s = scoreBoth(stream, ref(), test, c.seqLen);
    const modelBytes = b.files['model.edgeq'].length;
    rows.push({ model, plan: name, blockBpw: (8 * blockMatrixBytes(m)) / blockWeights(w), modelBpw: (8 * modelBytes) / modelParams(w), modelBytes, seconds: (Date.now() - t0) / 1000, ...s });
    onRow(rows);
    say(`quality: ${model} ${name}: KL ${s.all.meanKL.toFixed(4)} (half ${s.half.meanKL.toFixed(4)}), ${rows.at(-1)!.blockBpw.toFixed(2)} bpw, ${rows.at(-1)!.seconds.toFixed(0)} s`);
  }
  return rows;
}

export function qualityMarkdown(rows: readonly QualityRow[], tokens: number): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const out = [
    '# Quality: bits per weight against KL', '',
    `Generated by \`npm run quality\` (scripts/quality.ts): ${tokens} tokens of \`../shared/models/tinystories-valid-head.txt\` per model, teacher-forced against the float reference (float64 accumulation), each plan's bundle run in V8 as \`edgeq eval\` runs it. **bpw block**: bits per weight of the block matrices (wq..w3: values, group bytes, row scales); **bpw file**: 8 × model.edgeq bytes / parameters. **all**: every position; **half**: positions ≥ seqLen/2 of each window (llama.cpp \`--kl-divergence\`). ★ marks a plan on its model's frontier (no plan with fewer bits has lower KL, scored over all positions). Plot: [quality.svg](quality.svg); data: [quality.json](quality.json).`, '',
    '| model | plan | bpw block | bpw file | KL all | top-1 all | ppl all (float) | KL half | top-1 half | ppl half (float) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const model of [...new Set(rows.map((r) => r.model))]) {
    const mine = rows.filter((r) => r.model === model);
    const fr = new Set(frontier(mine.map((r) => ({ plan: r.plan, bpw: r.blockBpw, kl: r.all.meanKL }))).map((p) => p.plan));
    for (const r of [...mine].sort((a, b) => b.blockBpw - a.blockBpw)) {
      out.push(`| ${model} | ${fr.has(r.plan) ? '★ ' : ''}${r.plan} | ${r.blockBpw.toFixed(2)} | ${r.modelBpw.toFixed(2)} | ${r.all.meanKL.toFixed(4)} | ${pct(r.all.top1Agreement)} | ${r.all.pplTest.toFixed(3)} (${r.all.pplRef.toFixed(3)}) | ${r.half.meanKL.toFixed(4)} | ${pct(r.half.top1Agreement)} | ${r.half.pplTest.toFixed(3)} (${r.half.pplRef.toFixed(3)}) |`);
    }
  }
  out.push('', 'Mixed plans: `mix:<default>+<matrices>_<bits>` applies the override in every block (scripts/quality.ts MIXES); `mixed:<bpw>` is `edgeq plan --method mixed --bpw <bpw>` (compiler/plan/mixed.ts: a format per block matrix by its calibration output error weighted by the matrix\'s measured KL sensitivity, allocated greedily by estimated KL reduction per byte; `,kl0`: unweighted, `--kl-tokens 0`; with `+gptq` scored and compiled with GPTQ). `+gptq`: GPTQ (compiler/quantize/gptq-lowbit.ts) on self-generated calibration text (32 sequences of 256 tokens sampled from the float model, compiler/quantize/calibrate.ts): codes on the clip search\'s grid, then the grid refit by least squares on the calibration Hessian and GPTQ again, 3 rounds, each row keeping its best. `+awq`: AWQ per-channel scales folded into the float weights first (compiler/quantize/awq.ts; α per input searched on the same calibration text), then the clip search (or GPTQ with `+awq+gptq`).', '');
  return out.join('\n');
}

/** The rows of earlier runs' JSON reports (--merge a.json,b.json). */
export const mergedRows = <R>(files: string): R[] => files.split(',').flatMap((f) => (JSON.parse(readFileSync(f, 'utf8')) as { rows: R[] }).rows);

/** A real model's float weights and the first `tokens` tokens of the validation text in its tokenizer ($EDGEQ_MODELS, else ../shared/models). */
export function realModel(name: string, tok: string, tokens: number, who: string): { w: FloatWeights; stream: number[] } {
  const models = process.env.EDGEQ_MODELS ?? resolve(ROOT, '../shared/models'), ckpt = join(models, `${name}.bin`);
  if (!existsSync(ckpt)) throw new Error(`${who}: ${ckpt} not found`);
  const w = loadWeights(openModel(ckpt));
  const stream = encodeParagraphs(Tokenizer.load(join(models, tok)), readUtf8(join(models, 'tinystories-valid-head.txt')), tokens).tokens;
  return { w, stream };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    tokens: { type: 'string', default: '20000' }, model: { type: 'string' }, plans: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'docs/quality') },
    merge: { type: 'string' },
  } });
  const tokens = Number(values.tokens);
  const plans = values.plans ? values.plans.split(';') : [...UNIFORM_PLANS, ...Object.keys(MIXES), ...GPTQ_PLANS, ...AWQ_PLANS, ...MIXED_PLANS];
  const rows: QualityRow[] = [];
  // --merge a.json,b.json: the report of earlier runs' rows (e.g. one model per process).
  if (values.merge) {
    writeReport(values.out!, mergedRows<QualityRow>(values.merge), tokens);
    return;
  }
  for (const [name, tok] of MODELS) {
    if (values.model && values.model !== name) continue;
    const { w, stream } = realModel(name, tok, tokens, 'quality');
    const done = rows.length;
    // The report is rewritten after every plan, so a run cut short still leaves its rows.
    await measureModel(name, w, stream, plans, (s) => process.stderr.write(`${s}\n`), (mine) => { rows.splice(done, rows.length - done, ...mine); writeReport(values.out!, rows, tokens); });
  }
  process.stderr.write(`quality: wrote ${values.out}.md, .svg, .json\n`);
}

/**
 * Hand-written sections of the report (measurements made by other scripts) start at this
 * line; a regenerated report keeps them, after the new table.
 */
export const NOTES_MARKER = '<!-- measured notes: kept when npm run quality rewrites this file -->';

/** The fresh report with the notes (NOTES_MARKER onwards) of the previous one, if it had any. */
export function keepNotes(previous: string | null, fresh: string): string {
  const at = previous?.indexOf(NOTES_MARKER) ?? -1;
  return at < 0 ? fresh : `${fresh}\n${previous!.slice(at)}`;
}

function writeReport(out: string, rows: readonly QualityRow[], tokens: number): void {
  const series = [...new Set(rows.map((r) => r.model))].map((m) => ({ name: m, points: rows.filter((r) => r.model === m).map((r) => ({ plan: r.plan, bpw: r.blockBpw, kl: r.all.meanKL })) }));
  writeFileAtomic(`${out}.md`, keepNotes(existsSync(`${out}.md`) ? readFileSync(`${out}.md`, 'utf8') : null, qualityMarkdown(rows, tokens)));
  writeFileAtomic(`${out}.svg`, qualitySvg(`mean KL against bits per block weight (${tokens} tokens; frontier joined)`, series));
  writeFileAtomic(`${out}.json`, JSON.stringify({ tokens, rows }, null, 1) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
