// Per-bundle generation of the training runtime (runtime/assembly/train.ts;
// docs/runtime-abi.md, "Training"): an AssemblyScript entry (a virtual file, like
// compiler/codegen/runtime.ts's) that bakes, for one artifact,
// - the model config (load refuses an artifact of another shape: config_mismatch),
// - the indices of every base tensor the trainer reads (embedding, classifier, gains,
//   matrices, RoPE/exp2/SiLU tables) and of the rmsnorm/attention ops whose params hold
//   the norm and attention constants, plus a hash of the tensors' names, so the device
//   does no string lookup and still refuses an artifact whose tensors are not these;
// - optionally a training selftest: the initial adapter state, the tokens of a few steps
//   and the expected state hash after each, for engines with no host API (wasm-interp,
//   the C hosts): `selftest()` prints one `host.print(step, hash)` per step.
// Compiled with asc (compiler/codegen/asc.ts), checked to be integer-only, and cached by
// content like the engines' builds (compiler/engines/cache.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArtifactContents } from '../emit/artifact-contents.ts';
import { fnv1a64 } from '../emit/conformance-hash.ts';
import { compileAssemblyScript, type AscOptions } from './asc.ts';
import { assertNoFloats } from './float-check.ts';
import { LOAD_EXPORTS_SOURCE, configGuardSource, type RuntimeTarget } from './runtime.ts';
import { cachedBuild, sha256 } from '../engines/cache.ts';
import { runtimeSources } from '../engines/runtime-flavour.ts';
import { EdgeqError } from '../util/errors.ts';
import { VERSION } from '../version.ts';

/** Virtual path of the generated training entry. */
export const TRAIN_ENTRY_PATH = 'runtime/assembly/train-bundle.ts';

/** An embedded training run: what `selftest()` replays and checks. */
export interface TrainSelftest {
  rPad: number; seqLen: number; lrM: number; lrE: number;
  /** The initial state block (adapterLayout order, then rng lo, hi). */
  state: Int32Array;
  /** Tokens of each step, seqLen + 1 each. */
  steps: Int32Array[];
  /** Expected trainSelftestHash after each step. */
  expected: bigint[];
}

/** What selftest() prints after a step: FNV-1a 64 over the state block's bytes, then the step's loss (int32 LE). */
export function trainSelftestHash(state: Int32Array, lossQ16: number): bigint {
  const b = new Uint8Array(state.byteLength + 4);
  b.set(new Uint8Array(state.buffer, state.byteOffset, state.byteLength));
  new DataView(b.buffer).setInt32(state.byteLength, lossQ16, true);
  return fnv1a64(b);
}

/** The base tensors' names in the order trainBind (runtime/assembly/train.ts) reads their indices. */
export function trainTensorNames(a: ArtifactContents): string[] {
  const c = a.config;
  const mat = (n: string) => [n, `${n}.scale_m`, `${n}.scale_e`];
  const names = [...mat('tok_embeddings'), ...(c.sharedClassifier ? mat('tok_embeddings') : mat('wcls')), 'rms_final', 'rope.cos', 'rope.sin', 'exp2', 'silu'];
  for (let l = 0; l < c.nLayers; l++) {
    const b = (n: string) => `blocks.${l}.${n}`;
    names.push(b('rms_att'), ...mat(b('wq')), ...mat(b('wk')), ...mat(b('wv')), ...mat(b('wo')), b('rms_ffn'), ...mat(b('w1')), ...mat(b('w2')), ...mat(b('w3')));
  }
  return names;
}

const MATRIX = /^(tok_embeddings|wcls|blocks\.\d+\.(wq|wk|wv|wo|w1|w2|w3))$/;

/**
 * The artifact's index of each base tensor, in trainTensorNames' order; refuses a base that
 * is not int8 (LoRA trains through the int8 kernels). Cheap: `edgeq finetune` calls it before
 * it reads the training text.
 */
export function trainBaseIndices(a: ArtifactContents): number[] {
  // The backward pass reads the k12v8 cache (K 12-bit, V int8; runtime/reference/train.ts).
  if (a.plan.kvCache !== undefined && a.plan.kvCache !== 'k12v8') {
    throw new EdgeqError(`fine-tuning needs the default KV cache: this bundle's cache is ${a.plan.kvCache} (the training backward pass supports only k12v8); fine-tune a bundle compiled with the default --kv k12v8`);
  }
  const byName = new Map(a.tensors.map((t, i) => [t.name, i]));
  return trainTensorNames(a).map((n) => {
    const i = byName.get(n);
    if (i === undefined) throw new EdgeqError(`fine-tuning: the artifact has no tensor ${n}`);
    if (MATRIX.test(n) && a.tensors[i].dtype !== 'int8') throw new EdgeqError(`fine-tuning needs an int8 base: tensor ${n} is ${a.tensors[i].dtype}`);
    return i;
  });
}

function i32List(v: ArrayLike<number>): string {
  const parts: string[] = [];
  for (let i = 0; i < v.length; i += 32) parts.push(Array.from({ length: Math.min(32, v.length - i) }, (_, j) => String(v[i + j] | 0)).join(', '));
  return `[\n  ${parts.join(',\n  ')},\n]`;
}

/** The entry source for one artifact on one target (pure: same inputs, same text). */
export function generateTrainSource(a: ArtifactContents, target: RuntimeTarget, selftest?: TrainSelftest): string {
  const c = a.config;
  const names = trainTensorNames(a);
  const idx = trainBaseIndices(a);
  const rmsOp = a.program.ops.findIndex((o) => o.kind === 'rmsnorm');
  const attOp = a.program.ops.findIndex((o) => o.kind === 'attention');
  if (rmsOp < 0 || attOp < 0) throw new EdgeqError('fine-tuning: the program has no rmsnorm or attention op (their params hold the model constants)');
  const nameHash = fnv1a64(new Uint8Array(Buffer.concat(names.map((n) => Buffer.from(`${n}\0`, 'utf8')))));
  const config = [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.vocabSize, c.seqLen, rmsOp, attOp,
    Number(nameHash & 0xffffffffn) | 0, Number(nameHash >> 32n) | 0];

  let st = '';
  if (selftest) {
    const s = selftest, n = s.seqLen + 1;
    if (s.steps.some((t) => t.length !== n)) throw new EdgeqError(`training selftest: every step needs ${n} tokens`);
    if (s.expected.length !== s.steps.length) throw new EdgeqError('training selftest: one expected hash per step');
    const hashes = s.expected.flatMap((h) => [Number(h & 0xffffffffn) | 0, Number((h >> 32n) & 0xffffffffn) | 0]);
    const toks = new Int32Array(s.steps.length * n);
    s.steps.forEach((t, i) => toks.set(t, i * n));
    st = `
// ---- the embedded training selftest (runtime/assembly/train.ts trainSelftest) ----
const ST_STATE: usize = memory.data<i32>(${i32List(s.state)});
const ST_TOKENS: usize = memory.data<i32>(${i32List(toks)});
const ST_HASH: usize = memory.data<i32>(${i32List(hashes)});

/**
 * ABI selftest(): ${s.steps.length} training steps of ${s.seqLen} positions from the embedded initial
 * state; host.print(step, hash of the state block and the loss) after each. Returns the
 * steps whose hash differs from the embedded expectation, or -(error code).
 */
export function selftest(): i32 {
  if (!loaded) return -ERR_NOT_LOADED;
  return trainSelftest(${s.rPad}, ${s.seqLen}, ${s.lrM}, ${s.lrE}, ST_STATE, ${s.state.length}, ST_TOKENS, ${s.steps.length}, ST_HASH);
}
`;
  }

  return `// GENERATED by compiler/codegen/train-runtime.ts for one artifact; do not edit.
// Training runtime, target ${JSON.stringify(target.name)} (${target.simd ? 'SIMD' : 'scalar'})${selftest ? ', with an embedded training selftest' : ''}.
import { loaded, prepare, reservedBytes, reservedPtr, setLoaded } from "./runtime";
import { configU32 } from "./flatbuffer";
import { ModelConfigVT } from "./generated/schema";
import { ERR_CONFIG_MISMATCH, ERR_NOT_LOADED } from "./errors";
import { lora_forward, trainBind, trainSelftest } from "./train";
export { reserve, logits, logits_hash, argmax, seed, sample, decode, text, bos, eos, tokenizerKind } from "./runtime";
export { train_init, adapter_state, adapter_state_words, tokens, train_step, train_loss, lora_forward, peak_bytes } from "./train";

${configGuardSource(c)}
// [dim, hidden, layers, heads, kv heads, vocab, seq_len, rmsnorm op, attention op, names hash lo, hi]
const CONFIG: usize = memory.data<i32>(${i32List(config)});
// Base tensor indices (${names.length}), in trainBind's order.
const TENSORS: usize = memory.data<i32>(${i32List(idx)});

function finishLoad(ptr: usize, len: u32): i32 {
  // The arena of the program it was generated for: a larger one is refused before memory grows.
  const err = prepare(ptr, len, ${a.program.arenaSize});
  if (err != 0) return err;
  if (!sameConfig(ptr)) return ERR_CONFIG_MISMATCH;
  const e = trainBind(ptr, CONFIG, TENSORS);
  if (e != 0) return e;
  setLoaded();
  return 0;
}

${LOAD_EXPORTS_SOURCE}

/** ABI forward(token, pos): lora_forward (the C hosts' generate loop calls forward). */
export function forward(token: i32, pos: i32): i32 {
  if (!loaded) return ERR_NOT_LOADED;
  return lora_forward(token, pos);
}
${st}`;
}

export interface TrainBuildOptions {
  optimize?: AscOptions['optimize'];
  debugNames?: boolean;
  selftest?: TrainSelftest;
}

export interface TrainBuild { wasm: Uint8Array<ArrayBuffer>; source: string; /** The cache key (SHA-256 of everything that went in). */ key: string; built: boolean }

/** Generates, compiles and float-checks the training runtime of one artifact (cached by content). */
export async function buildTrainRuntime(a: ArtifactContents, target: RuntimeTarget, opts: TrainBuildOptions = {}): Promise<TrainBuild> {
  const source = generateTrainSource(a, target, opts.selftest);
  const optimize = opts.optimize ?? 'speed';
  const key = sha256('train-runtime', VERSION, source, target.simd ? 'simd' : 'scalar', optimize, opts.debugNames ? 'names' : '', ...runtimeSources());
  const { dir, built } = await cachedBuild(key, async (tmp) => {
    const r = await compileAssemblyScript({
      entries: [TRAIN_ENTRY_PATH], sources: { [TRAIN_ENTRY_PATH]: source }, simd: target.simd, optimize, debugNames: opts.debugNames,
    });
    assertNoFloats(r.wasm, `training runtime for target ${target.name}`);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(tmp, 'train.wasm'), r.wasm);
  });
  const wasm = new Uint8Array(readFileSync(join(dir, 'train.wasm')));
  // A cached module was float-checked when it was built; check again anyway (cheap, and the
  // cache directory is writable by anyone who can write the user's cache).
  assertNoFloats(wasm, `training runtime for target ${target.name}`);
  return { wasm, source, key, built };
}
