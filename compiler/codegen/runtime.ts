// Per-bundle runtime generation: the AssemblyScript entry of runtime.wasm for one Program
// and target, compiled with asc and checked to be integer-only.
//
// The generated entry (a virtual file, runtime/assembly/bundle.ts, never written to disk)
// - imports the check/run pair of exactly the op kinds the program uses from
//   runtime/assembly/ops.ts, and the SIMD GEMV (runtime/assembly/ops-simd.ts) only when the
//   target has SIMD; asc compiles only what is reachable, so an unused kernel is not in
//   the module at all;
// - bakes the model config in as compile-time constants: load() refuses an artifact made
//   for another shape (ERR_CONFIG_MISMATCH) and the step loop's bounds are constants;
// - defines the ABI exports that depend on the op set: load, load_at, forward, selftest;
//   the others come from runtime/assembly/runtime.ts.
// Same program and target, same source text, same bytes (asc.ts is deterministic).
import type { ArtifactConfig, ArtifactProgram, OpKindName } from '../emit/artifact-contents.ts';
import { cachedAssemblyScript, compileAssemblyScript, type AscOptions } from './asc.ts';
import { assertNoFloats } from './float-check.ts';
import { EdgeqError } from '../util/errors.ts';
import type { DeviceBinding } from '../ops/op-def.ts';
import { OP_DEFS, opDef } from '../ops/registry.ts';
import { THREADED_MEMORY, rowsFunctions, splitRunCase, threadedEntrySource, threadedSources, type SplitKind, type ThreadHost } from './threads.ts';

/** Virtual path of the generated entry (relative to the project root). */
export const ENTRY_PATH = 'runtime/assembly/bundle.ts';

/** Op kinds the int8 runtime implements, with their check/run functions in ops.ts (from the op registry). */
export const KERNELS: Partial<Record<OpKindName, DeviceBinding>> = Object.fromEntries(OP_DEFS.map((d) => [d.kind, d.device]));

/** `threads`: the threaded flavour for that host (./threads.ts), never a bundle's own runtime. */
export interface RuntimeTarget { name: string; simd: boolean; threads?: ThreadHost }

export interface GeneratedRuntime {
  /** The entry's source text. */
  source: string;
  /** Op kinds compiled in, in OpKind order. */
  kinds: OpKindName[];
  /** Kernel functions the entry imports (e.g. runGemvSimd). */
  functions: string[];
}

/**
 * AssemblyScript text every generated entry starts with: the model config baked in as
 * constants and sameConfig(base), which load() uses to refuse an artifact of another shape.
 * The entry imports configU32 and ModelConfigVT.
 */
export function configGuardSource(c: ArtifactConfig): string {
  return `// The model this runtime was generated for.
const DIM: u32 = ${c.dim};
const HIDDEN_DIM: u32 = ${c.hiddenDim};
const N_LAYERS: u32 = ${c.nLayers};
const N_HEADS: u32 = ${c.nHeads};
const N_KV_HEADS: u32 = ${c.nKvHeads};
const VOCAB_SIZE: u32 = ${c.vocabSize};
const SEQ_LEN: u32 = ${c.seqLen};

function sameConfig(base: usize): bool {
  return configU32(base, ModelConfigVT.dim) == DIM && configU32(base, ModelConfigVT.hiddenDim) == HIDDEN_DIM &&
    configU32(base, ModelConfigVT.nLayers) == N_LAYERS && configU32(base, ModelConfigVT.nHeads) == N_HEADS &&
    configU32(base, ModelConfigVT.nKvHeads) == N_KV_HEADS && configU32(base, ModelConfigVT.vocabSize) == VOCAB_SIZE &&
    configU32(base, ModelConfigVT.seqLen) == SEQ_LEN;
}`;
}

/**
 * The ABI's load/load_at exports of every generated entry, around the entry's own
 * finishLoad(ptr, len) (verify, check the config, bind what the entry runs).
 */
export const LOAD_EXPORTS_SOURCE = `/** ABI load(len): verifies the artifact at the reserved address and finishes loading it. */
export function load(len: u32): i32 {
  if (reservedPtr() == 0 || len > reservedBytes()) return 5; // VerifyError.out_of_bounds
  return finishLoad(reservedPtr(), len);
}

/** ABI load_at(ptr, len): the same for an artifact already in memory at ptr (16-aligned). */
export function load_at(ptr: usize, len: u32): i32 {
  return finishLoad(ptr, len);
}`;

/** The entry source for `program` on `target` (pure: same inputs, same text). */
export function generateRuntimeSource(config: ArtifactConfig, program: ArtifactProgram, target: RuntimeTarget): GeneratedRuntime {
  const used = new Set(program.ops.map((o) => o.kind));
  const kinds = OP_DEFS.map((d) => d.kind).filter((k) => used.has(k));
  for (const k of used) {
    if (!KERNELS[k]) throw new EdgeqError(`the int8 runtime has no kernel for op kind "${k}" (implemented: ${Object.keys(KERNELS).join(', ')})`);
  }
  const scalarImports = new Set<string>();
  const simdImports = new Set<string>();
  const checkCases: string[] = [];
  const runCases: string[] = [];
  const splits: SplitKind[] = [];
  for (const k of kinds) {
    const b = KERNELS[k]!;
    scalarImports.add(b.check);
    const simd = target.simd && b.simdRun !== undefined;
    checkCases.push(`    case OpKind.${k}: return ${b.check}(r);`);
    if (target.threads && b.rows) {
      const split = { kind: k, binding: b, rowsParam: opDef(k).params.findIndex((p) => p.name === b.rows!.count) };
      splits.push(split);
      for (const f of rowsFunctions([split], target.simd)) (simd ? simdImports : scalarImports).add(f);
      runCases.push(splitRunCase(split));
      continue;
    }
    const run = simd ? b.simdRun! : b.run;
    (simd ? simdImports : scalarImports).add(run);
    runCases.push(`      case OpKind.${k}: ${run}(r); break;`);
  }
  const functions = [...[...scalarImports].sort(), ...[...simdImports].sort()];
  const source = `// GENERATED by compiler/codegen/runtime.ts for one bundle; do not edit.
// Target ${JSON.stringify(target.name)} (${target.simd ? 'SIMD' : 'scalar'}${target.threads ? `, threaded for ${target.threads}` : ''}); op kinds: ${kinds.join(', ')}.
import {
  base, loaded, nOps, prepare, rec, recKind, reservedBytes, reservedPtr, setInputs, setLoaded,
  logits_hash,
} from "./runtime";
import { configU32, conformanceAt, conformanceCount, casePositions, caseToken, caseHash } from "./flatbuffer";
import { ModelConfigVT, OpKind } from "./generated/schema";
import {
  ERR_BAD_POSITION, ERR_BAD_PROGRAM, ERR_BAD_TOKEN, ERR_CONFIG_MISMATCH, ERR_NOT_LOADED, ERR_UNSUPPORTED_OP,
} from "./errors";
import { ${[...scalarImports].sort().join(', ')} } from "./ops";
${simdImports.size ? `import { ${[...simdImports].sort().join(', ')} } from "./ops-simd";\n` : ''}
export { reserve, logits, logits_hash, argmax, seed, sample, decode, text, bos, eos, tokenizerKind } from "./runtime";

// @ts-ignore: decorator
@external("host", "print")
declare function hostPrint(position: i32, hash: i64): void;
${target.threads ? `\n${threadedEntrySource(splits, target.simd)}` : ''}
${configGuardSource(config)}
const N_OPS: i32 = ${program.ops.length};
// The arena this runtime was generated for: load refuses a larger one before growing memory.
const ARENA_BYTES: u64 = ${program.arenaSize};

function checkOp(r: usize): bool {
  switch (recKind(r)) {
${checkCases.join('\n')}
    default: return false;
  }
}

function supported(kind: u32): bool {
  switch (kind) {
${kinds.map((k) => `    case OpKind.${k}:`).join('\n')}
      return true;
    default: return false;
  }
}

function finishLoad(ptr: usize, len: u32): i32 {
  const err = prepare(ptr, len, ARENA_BYTES);
  if (err != 0) return err;
  if (!sameConfig(ptr) || nOps != N_OPS) return ERR_CONFIG_MISMATCH;
  for (let i = 0; i < N_OPS; i++) if (!supported(recKind(rec(i)))) return ERR_UNSUPPORTED_OP;
  for (let i = 0; i < N_OPS; i++) if (!checkOp(rec(i))) return ERR_BAD_PROGRAM;
  setLoaded();
  return 0;
}

${LOAD_EXPORTS_SOURCE}
/** ABI forward(token, pos): runs one position; 0 or an error code. */
export function forward(token: i32, pos: i32): i32 {
  if (!loaded) return ERR_NOT_LOADED;
  if (<u32>token >= <u32>VOCAB_SIZE) return ERR_BAD_TOKEN;
  if (<u32>pos >= <u32>SEQ_LEN) return ERR_BAD_POSITION;
  setInputs(token, pos);
  for (let i = 0; i < N_OPS; i++) {
    const r = rec(i);
    switch (recKind(r)) {
${runCases.join('\n')}
      default: unreachable();
    }
  }
  return 0;
}

/** ABI selftest(): runs the embedded conformance vectors; returns the mismatching positions. */
export function selftest(): i32 {
  if (!loaded) return -ERR_NOT_LOADED;
  let mismatches = 0;
  const n = conformanceCount(base);
  for (let c: u32 = 0; c < n; c++) {
    const k = conformanceAt(base, c);
    const positions = casePositions(k);
    for (let p: u32 = 0; p < positions; p++) {
      const err = forward(<i32>caseToken(k, p), <i32>p);
      const h = err == 0 ? logits_hash() : 0;
      hostPrint(<i32>p, <i64>h);
      if (err != 0 || h != caseHash(k, p)) mismatches++;
    }
  }
  return mismatches;
}
`;
  return { source, kinds, functions };
}

export interface RuntimeBuildOptions {
  /** asc optimization (default 'speed'). */
  optimize?: AscOptions['optimize'];
  /** Keep function names (for tests that look for kernels by name). */
  debugNames?: boolean;
}

export interface RuntimeBuild extends GeneratedRuntime {
  wasm: Uint8Array<ArrayBuffer>;
  /** asc's command line (for the manifest). */
  argv: string[];
}

const runtimeAscOptions = (gen: GeneratedRuntime, target: RuntimeTarget, opts: RuntimeBuildOptions): AscOptions => ({
  entries: [ENTRY_PATH],
  sources: { [ENTRY_PATH]: gen.source, ...(target.threads ? threadedSources(target.threads) : {}) },
  simd: target.simd,
  optimize: opts.optimize ?? 'speed',
  debugNames: opts.debugNames,
  // The threaded flavour's instances share one memory the host creates (and imports).
  ...(target.threads ? { threads: true, initialMemoryPages: THREADED_MEMORY.initial, maximumMemoryPages: THREADED_MEMORY.maximum } : {}),
});

/** Generates, compiles and float-checks the runtime of one bundle. */
export async function buildRuntime(config: ArtifactConfig, program: ArtifactProgram, target: RuntimeTarget, opts: RuntimeBuildOptions = {}): Promise<RuntimeBuild> {
  const gen = generateRuntimeSource(config, program, target);
  const r = await compileAssemblyScript(runtimeAscOptions(gen, target, opts));
  assertNoFloats(r.wasm, `runtime.wasm for target ${target.name}`);
  return { ...gen, wasm: r.wasm, argv: r.argv };
}

/** The runtime buildRuntime would return, when an earlier build of it is in the cache; else null. */
export function cachedRuntime(gen: GeneratedRuntime, target: RuntimeTarget): Uint8Array | null {
  return cachedAssemblyScript(runtimeAscOptions(gen, target, {}))?.wasm ?? null;
}
