// A device bundle, built in memory: checkpoint -> QuantModel -> Program -> model.edgeq and
// runtime.wasm, plus manifest.json describing both. Used by `edgeq compile` (which writes
// the files atomically) and by tests (which compile in-process).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { modelTokenizer, openModel, sourceDigest } from './import/open-model.ts';
import { headSize, loadWeights, streamWeights } from './import/graph.ts';
import type { TextTokenizer } from './import/tokenizers/text-tokenizer.ts';
import { quantizeInt8 } from './quantize/int8.ts';
import { calibrationOfTokens } from './quantize/calibrate.ts';
import { lowbitPool } from './quantize/lowbit-pool.ts';
import { gemvPool } from './emit/conformance-pool.ts';
import { matrixNames } from './quantize/quant-model.ts';
import type { QTensor, QuantModel } from './quantize/quant-model.ts';
import { collectGarbage } from './util/collect.ts';
import { lowerInt8 } from './lower/program.ts';
import { contentsFromQuant, parsePlan, weightsMethod, type PlanSpec } from './emit/from-quant.ts';
import { planName } from './plan/plan.ts';
import { ewqPlanSpec } from './plan/ewq.ts';
import { fastEwqPlanSpec } from './plan/fastewq.ts';
import { writeArtifact } from './emit/artifact.ts';
import type { ArtifactContents } from './emit/artifact-contents.ts';
import { buildRuntime, type RuntimeBuild } from './codegen/runtime.ts';
import { buildTrainRuntime, trainBaseIndices } from './codegen/train-runtime.ts';
import { loadTarget, runtimeTarget, type TargetProfile } from './target/profile.ts';
import { VERSION } from './version.ts';
import { withContext } from './plan/context.ts';
import { isQuantizedKv, kvCacheBytes, kvFormatName, kvRotationLog2, parseKvFormat, KV_DEFAULT } from './quantize/kv-cache.ts';
import { EdgeqError } from './util/errors.ts';

export type BundleFiles = Record<'model.edgeq' | 'runtime.wasm' | 'manifest.json', Uint8Array> & { 'train.wasm'?: Uint8Array };

export interface QuantBundleOptions {
  model: QuantModel;
  target: TargetProfile;
  plan: PlanSpec;
  planName: string;
  gptq?: boolean;
  /** The weights were AWQ-folded before quantization (manifest `weights`). */
  awq?: boolean;
  tokenizer?: TextTokenizer;
  sourceSha256: Uint8Array;
  sourcePath: string;
  vectors?: number;
  /** Reuse an already built runtime for this program and target (tests). */
  runtime?: RuntimeBuild;
  /**
   * Also build the training module (train.wasm) for an int8 base, so fine-tuning and adapters
   * (CLI, API, page) never build it at run time. Default false here (tests); edgeq compile: on.
   */
  train?: boolean;
  progress?: (msg: string) => void;
  /**
   * Move the weights into model.edgeq: as each tensor is written, its data in `model` (and
   * in the returned contents) becomes a view of its bytes in the artifact, so the weights
   * are in memory once, not twice (edgeq compile). The model must not change afterwards, nor
   * the artifact: they share those bytes. Default false.
   */
  moveWeights?: boolean;
  /**
   * Threads for the conformance vectors' int8 GEMVs (default: every core; used for the
   * matrices the quantizer put on shared memory). The bytes do not depend on it.
   */
  threads?: number;
}

export interface QuantBundle {
  files: BundleFiles;
  contents: ArtifactContents;
  runtime: RuntimeBuild;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** The bundle of an already quantized model. */
export async function bundleFromQuant(o: QuantBundleOptions): Promise<QuantBundle> {
  const say = o.progress ?? (() => {});
  say('lowering to a program');
  const program = lowerInt8(o.model);
  // The runtime's flavour: the target's, unless its SIMD kernels are slower for this program.
  const target = runtimeTarget(o.target, program);
  if (target.why) say(target.why);
  say(`${program.ops.length} ops, ${program.slots.length} slots, arena ${program.arenaSize} bytes; computing ${o.vectors ?? 32} conformance positions`);
  const pool = (o.vectors ?? 32) > 0 ? gemvPool(int8Matrices(o.model), o.threads) : null;
  let contents: ArtifactContents;
  try {
    contents = contentsFromQuant({
      model: o.model, program, target, plan: o.plan, gptq: o.gptq, awq: o.awq, tokenizer: o.tokenizer,
      sourceSha256: o.sourceSha256, sourcePath: o.sourcePath, vectors: o.vectors, gemvQ8: pool?.gemvQ8,
    });
  } finally {
    await pool?.close();
  }
  const artifact = writeArtifact(contents, o.moveWeights ? { placed: moveWeights(o.model, contents) } : {});
  if (o.moveWeights) collectGarbage();
  say(`model.edgeq: ${artifact.length} bytes; generating and compiling the ${target.simd ? 'SIMD' : 'scalar'} runtime`);
  const runtime = o.runtime ?? await buildRuntime(contents.config, contents.program, target);
  const train = o.train ? await trainModule(contents, target, say) : undefined;
  const manifest = {
    format: 'edgeq-bundle',
    compiler: 'edgeq',
    compilerVersion: VERSION,
    target: target.name,
    simd: target.simd,
    plan: o.planName,
    // What every block matrix actually got (the plan after fallbacks), as in the artifact's PrecisionPlan.
    precision: {
      method: contents.plan.method,
      blocks: contents.plan.blocks.map((b) => Object.fromEntries(b.matrices.map((m) => [m.name, m.groupSize ? `${m.format} g${m.groupSize}` : m.format]))),
      embedding: 'int8',
      // int8 unless the plan opted in (then the separate matrix wcls, as quantized: compiler/quantize/int8.ts).
      classifier: ((f) => (f && f.format !== 'int8' ? `${f.format} g${f.groupSize}` : 'int8'))(o.model.formats?.wcls),
    },
    weights: weightsMethod(o),
    kvCache: kvManifest(o.model),
    source: { name: basename(o.sourcePath), sha256: hex(o.sourceSha256) },
    model: { ...contents.config },
    program: { ops: program.ops.length, slots: program.slots.length, arenaBytes: program.arenaSize, opKinds: runtime.kinds },
    conformance: contents.conformance.map((c) => ({ name: c.name, positions: c.positions })),
    tokenizer: !!o.tokenizer,
    files: {
      'model.edgeq': { size: artifact.length, sha256: hex(sha256(artifact)) },
      'runtime.wasm': { size: runtime.wasm.length, sha256: hex(sha256(runtime.wasm)) },
      ...(train ? { 'train.wasm': { size: train.length, sha256: hex(sha256(train)) } } : {}),
    },
    asc: runtime.argv,
  };
  const files: BundleFiles = {
    'model.edgeq': artifact,
    'runtime.wasm': runtime.wasm,
    'manifest.json': new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'),
    ...(train ? { 'train.wasm': train } : {}),
  };
  return { files, contents, runtime };
}

/** Bytes of moved weights left to the collector before a full collection frees them. */
const COLLECT_BYTES = 64 << 20;

/**
 * writeArtifact's `placed` for moveWeights: the model's tensor `i` (and the contents', made
 * from it in order) becomes a view of its bytes in the artifact, the same values. Its own
 * array is garbage then; collecting every COLLECT_BYTES keeps the peak near one artifact.
 */
function moveWeights(model: QuantModel, contents: ArtifactContents): (i: number, bytes: Uint8Array) => void {
  let loose = 0;
  return (i, bytes) => {
    const t = model.tensors[i], a = contents.tensors[i];
    if (a.name !== t.name || bytes.length !== t.data.byteLength) throw new Error(`moveWeights: tensor ${i} is ${a.name}, not ${t.name}`);
    const View = t.data.constructor as new (b: ArrayBufferLike, off: number, n: number) => QTensor['data'];
    t.data = new View(bytes.buffer, bytes.byteOffset, t.data.length);
    a.data = bytes;
    loose += bytes.length;
    if (loose >= COLLECT_BYTES) { collectGarbage(); loose = 0; }
  };
}

/** The int8 matrices (values, row scales) of a model, for gemvPool. */
function int8Matrices(m: QuantModel): Array<{ q: Int8Array; m: Int16Array; e: Int8Array }> {
  const byName = new Map(m.tensors.map((t) => [t.name, t]));
  return m.tensors.filter((t) => t.dtype === 'int8' && t.shape.length === 2).flatMap((t) => {
    const n = matrixNames(t.name), sm = byName.get(n.m), se = byName.get(n.e);
    return sm && se ? [{ q: t.data as Int8Array, m: sm.data as Int16Array, e: se.data as Int8Array }] : [];
  });
}

/** The manifest's kvCache: the format and the bytes its slots take in the arena (docs/kv-cache.md). */
export function kvManifest(m: QuantModel): { format: string; bytes: number; context: number } {
  const f = m.kvCache ?? KV_DEFAULT, p = m.params;
  return {
    format: kvFormatName(f), context: p.seqLen,
    bytes: kvCacheBytes(f, { nLayers: p.nLayers, nKvHeads: p.nKvHeads, headSize: p.dim / p.nHeads, seqLen: p.seqLen }),
  };
}

/** The training module of an int8 base (cached by content); none for a low-bit base, which cannot be fine-tuned. */
async function trainModule(contents: ArtifactContents, target: TargetProfile, say: (msg: string) => void): Promise<Uint8Array | undefined> {
  try {
    trainBaseIndices(contents);
  } catch (e) {
    if (!(e instanceof EdgeqError)) throw e;
    say(`no training module: ${e.message}`);
    return undefined;
  }
  say('generating and compiling the training module (train.wasm; --no-train skips it)');
  return (await buildTrainRuntime(contents, { name: target.name, simd: target.simd })).wasm;
}

export interface BundleOptions {
  checkpoint: string;
  target: string;
  plan: string;
  gptq?: boolean;
  /** Fold AWQ scales into the float weights before quantizing (low-bit plans; compiler/quantize/awq.ts). */
  awq?: boolean;
  /** Self-generated calibration tokens for GPTQ and AWQ (default 32 x 256: calibrate.ts). */
  calibrationTokens?: number;
  tokenizer?: string;
  vectors?: number;
  /** KV cache format (`--kv`, compiler/quantize/kv-cache.ts); default k12v8. */
  kv?: string;
  /** `--context`: positions, or the largest that fits the target's RAM (compiler/plan/context.ts). */
  context?: number | 'max';
  /** Threads for the low-bit clip search (default: every core); the bytes do not depend on it. */
  threads?: number;
  /** Build train.wasm too (default true; compile --no-train: false). */
  train?: boolean;
  progress?: (msg: string) => void;
}

/** `edgeq compile` without the file writing: checkpoint path in, bundle files out. */
export async function compileBundle(o: BundleOptions): Promise<BundleFiles> {
  const target = loadTarget(o.target);
  const say = o.progress ?? (() => {});
  // The measured-damage planner is plan-only: it needs calibration text and runs L + 1 bundles.
  if (o.plan === 'damage') throw new EdgeqError('--plan damage: the damage planner needs calibration text; run edgeq plan <checkpoint> --method damage --calibration <text> --tokenizer <tok> -o plan.json, then compile with --plan plan.json', {}, 2);
  const graph = openModel(o.checkpoint);
  // --tokenizer wins; else the model's own (GGUF, HF), so its bundle prints text.
  const tokenizer = modelTokenizer(graph, o.tokenizer);
  // --plan ewq: an EWQ plan (compiler/plan/ewq.ts, default options) computed on the fly.
  // --plan fastewq: the FastEWQ plan (compiler/plan/fastewq.ts) from the configuration alone.
  const plan = o.plan === 'ewq' ? ewqPlanSpec(graph) : o.plan === 'fastewq' ? fastEwqPlanSpec(graph.config) : parsePlan(o.plan);
  if (tokenizer && tokenizer.vocabSize !== graph.config.vocabSize) {
    throw new EdgeqError(`tokenizer ${o.tokenizer ?? `embedded in ${o.checkpoint}`} has ${tokenizer.vocabSize} tokens but model ${o.checkpoint} has a vocabulary of ${graph.config.vocabSize}`);
  }
  const sourceSha256 = sourceDigest(o.checkpoint);
  const kv = parseKvFormat(o.kv ?? 'k12v8');
  kvRotationLog2(kv, headSize(graph.config)); // ,rot on a head size that is not a power of two: refused before quantizing
  say(`quantizing ${o.checkpoint} (plan ${planName(plan)})${o.awq || o.gptq ? ` with ${[o.awq ? 'AWQ' : '', o.gptq ? 'GPTQ' : ''].filter(Boolean).join(' and ')} (calibrating on self-generated text)` : ''}`);
  // Without GPTQ or AWQ each matrix is read, quantized and dropped in turn (streamWeights):
  // peak memory is the quantized model plus one float32 matrix. Both calibrate on the float
  // model; AWQ folds into the loaded weights (nothing else reads them).
  // The low-bit clip search runs on every core (lowbit-pool.ts; the same bytes as one thread).
  const pool = lowbitPool(o.threads);
  const cal = o.calibrationTokens === undefined ? {} : calibrationOfTokens(o.calibrationTokens);
  let model: QuantModel;
  try {
    model = quantizeInt8(o.gptq || o.awq ? loadWeights(graph) : streamWeights(graph), {
      plan, lowbitRows: pool.run, shared: true, ...(o.gptq ? { gptq: { ...cal } } : {}), ...(o.awq ? { awq: { inPlace: true, ...cal } } : {}),
    });
  } finally {
    await pool.close();
  }
  if (isQuantizedKv(kv)) model.kvCache = { ...kv, window: Math.min(kv.window, model.params.seqLen) };
  const build = (m: QuantModel, train = o.train ?? true) => bundleFromQuant({
    model: m, target, plan, planName: planName(plan), gptq: o.gptq, awq: o.awq, tokenizer, sourceSha256, sourcePath: o.checkpoint,
    vectors: o.vectors, train, progress: say, threads: o.threads, moveWeights: true,
  });
  if (o.context !== 'max') return (await build(o.context === undefined ? model : withContext(model, o.context))).files;
  // The search measures RAM without train.wasm (it takes none); the bundle kept is rebuilt with it.
  const fitted = await fitContext(model, target, (m) => build(m, false), say);
  return (o.train ?? true) ? (await build(fitted.model)).files : fitted.bundle.files;
}

/**
 * The bundle with the largest context whose RAM fits `target` (the model's own when it
 * fits). RAM is measured on the built bundle (compiler/target/budget.ts); the arena's
 * growth with the context comes from the lowering, so the search builds few bundles.
 */
async function fitContext(model: QuantModel, target: TargetProfile, build: (m: QuantModel) => Promise<QuantBundle>, say: (s: string) => void): Promise<{ model: QuantModel; bundle: QuantBundle }> {
  const { bundleBudgetUse } = await import('./target/budget.ts');
  const budget = target.ramBytes;
  const full = await build(model);
  if (budget === null) { say(`--context max: target ${target.name} has no RAM budget; context ${model.params.seqLen} (the model's)`); return { model, bundle: full }; }
  const use = await bundleBudgetUse(full.files['model.edgeq'], full.files['runtime.wasm'], target);
  if (use.ramBytes <= budget) { say(`--context max: the model's whole context (${model.params.seqLen}) fits ${target.name}: RAM ${use.ramBytes} of ${budget} bytes`); return { model, bundle: full }; }
  // RAM beyond the arena is fixed (code data, stack, tables), so ram(S) ~ fixed + arena(S).
  const fixed = use.ramBytes - lowerInt8(model).arenaSize;
  const fits = (n: number) => fixed + lowerInt8(withContext(model, n)).arenaSize <= budget;
  let lo = 0, hi = model.params.seqLen - 1;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (fits(mid)) lo = mid; else hi = mid - 1; }
  for (let n = lo; n >= 1; n -= Math.max(1, n >> 6)) {
    const m = withContext(model, n), b = await build(m);
    const u = await bundleBudgetUse(b.files['model.edgeq'], b.files['runtime.wasm'], target);
    if (u.ramBytes <= budget) {
      say(`--context max: context ${n} of the model's ${model.params.seqLen} fits ${target.name}: RAM ${u.ramBytes} of ${budget} bytes (KV cache ${kvManifest(m).bytes} bytes, ${kvManifest(model).format})`);
      return { model: m, bundle: b };
    }
  }
  throw new EdgeqError(`--context max: not even 1 position fits ${target.name}: RAM ${fixed} bytes besides the arena, budget ${budget}`);
}
