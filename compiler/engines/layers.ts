// `edgeq verify --layers`: which op of the program first produces an output that differs
// from the integer reference.
//
// Three executors of the same program exist: the runtime (AssemblyScript kernels, on some
// engine), the program interpreter (./program-interpreter.ts: the reference kernels over
// the same arena layout, in TypeScript) and IntTransformer (the whole-model reference
// that computed the embedded hashes). On a mismatch at position p, a *traced* build of the
// runtime (the codegen's own entry source, compiler/codegen/runtime.ts, with one extra
// call after each kernel in forward's dispatch: `debug.after_op(i)`, an import; same
// optimization level) runs positions 0..p on V8 in lockstep with the interpreter: after
// each op both have run it, and the op's output slots are compared byte for byte. The
// first op (at any position up to p) whose output bytes differ is named, with the slot,
// the byte offset and the two values there.
//
// The traced build has the failing engine's flavour: SIMD for v8-simd (and wasm-interp
// when the bundle's runtime is SIMD, and the wasm2c-*-simd engines), scalar otherwise.
// wasm2c and Cortex-M engines run a module translated to C, so the V8 traced build of the
// same flavour stands in for them (same kernels, other translation); when it matches the reference everywhere, the difference
// is in that translation (wasm2c, C compiler, emulator). The other flavour is traced too,
// so the report also tells whether SIMD and scalar share the difference. Outputs of
// OPAQUE op kinds (lut_tables: tables in a format private to each kernel pair) are not
// compared; a fault there shows at the gemv_lut that reads them.
import { compileAssemblyScript } from '../codegen/asc.ts';
import { ENTRY_PATH, generateRuntimeSource } from '../codegen/runtime.ts';
import { fnv1a64 } from '../emit/conformance-hash.ts';
import type { ArtifactSlot } from '../emit/artifact-contents.ts';
import { formatHash, type Bundle } from './engine.ts';
import { EdgeqError } from '../util/errors.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedBuild, sha256 } from './cache.ts';
import { runtimeSources } from './runtime-flavour.ts';
import { ProgramInterpreter } from './program-interpreter.ts';
import { isBoardEngine } from './board.ts';
import { V8_BUILD_ENGINE } from './names.ts';

/** The first op output that differs from the reference (program interpreter). */
export interface OpDifference {
  /** The step (position) at which it happened; at most the failing position. */
  position: number;
  index: number;
  kind: string;
  /** Op.name, e.g. "blocks.3.wq". */
  name: string;
  /** The output slot that differs (Slot.name), its index, dtype and shape. */
  slot: string;
  slotIndex: number;
  dtype: string;
  shape: number[];
  /** First differing byte within the slot, the element it belongs to and its coordinates. */
  byteOffset: number;
  element: number;
  coords: number[];
  /** That element's value in the reference (interpreter) and in the traced runtime. */
  reference: number;
  runtime: number;
}

export interface BuildTrace {
  build: string;
  /** null when every op's outputs equal the reference's at every position 0..p. */
  firstDifferingOp: OpDifference | null;
  /** fnv1a64 of the build's logits at the position. */
  stepHash: string;
}

export interface LayersReport {
  /** The engine whose mismatch is being located, and the traced build that stands for it. */
  engine: string;
  traced: string;
  /** Why another build stands in for the engine (non-V8 engines); null for V8 engines. */
  standIn: string | null;
  compared: [string, string];
  case: string;
  position: number;
  /** The answer: the first op whose output differs from the reference. */
  firstDifferingOp: OpDifference | null;
  /** [reference interpreter, traced build] logits hashes at the position. */
  stepHashes: [string, string];
  /** The hash embedded in the artifact (IntTransformer at compile time). */
  expected: string;
  /** The other SIMD flavour, traced the same way (null when not run). */
  other: BuildTrace | null;
  note: string;
}

export const REFERENCE = 'program interpreter (reference kernels)';

/** The codegen's entry for `simd`, with `afterOp(i)` after each kernel call. */
export function tracedSource(bundle: Bundle, simd: boolean): string {
  const c = bundle.contents;
  const src = generateRuntimeSource(c.config, c.program, { name: c.target.name, simd }).source;
  let n = 0;
  const patched = src.replace(/(case OpKind\.\w+: \w+\(r\);) break;/g, (_m, call: string) => { n++; return `${call} afterOp(i); break;`; });
  if (n === 0) throw new EdgeqError('--layers: the runtime codegen\'s dispatch changed shape (no "case OpKind.x: run(r); break;" found); compiler/engines/layers.ts needs updating');
  return `${patched}\n// @ts-ignore: decorator\n@external("debug", "after_op")\ndeclare function afterOp(i: i32): void;\n`;
}

const ELEM_BYTES: Record<string, number> = { int8: 1, uint8: 1, int16: 2, int32: 4 };

function difference(bundle: Bundle, position: number, opIndex: number, slotIndex: number, byteOffset: number, ref: Uint8Array, got: Uint8Array): OpDifference {
  const prog = bundle.contents.program;
  const op = prog.ops[opIndex];
  const s: ArtifactSlot = prog.slots[slotIndex];
  const eb = ELEM_BYTES[s.dtype] ?? 1;
  const element = Math.floor(byteOffset / eb);
  const coords: number[] = [];
  let rest = element;
  for (let d = s.shape.length - 1; d >= 0; d--) { coords.unshift(rest % s.shape[d]); rest = Math.floor(rest / s.shape[d]); }
  const value = (b: Uint8Array) => {
    const dv = new DataView(b.buffer, b.byteOffset + element * eb, eb);
    return eb === 4 ? dv.getInt32(0, true) : eb === 2 ? dv.getInt16(0, true) : s.dtype === 'uint8' ? dv.getUint8(0) : dv.getInt8(0);
  };
  return {
    position, index: opIndex, kind: op.kind, name: op.name ?? `op ${opIndex}`,
    slot: s.name ?? `slot ${slotIndex}`, slotIndex, dtype: s.dtype, shape: s.shape.slice(),
    byteOffset, element, coords, reference: value(ref), runtime: value(got),
  };
}

export interface TraceOptions {
  /** Tests: flip one byte of op `perturbOp`'s first output right after it ran at `position`, as a kernel bug would. */
  perturbOp?: number;
  /** Tests: the artifact bytes the runtime loads instead of the bundle's (the interpreter keeps the bundle's). */
  runtimeArtifact?: Uint8Array;
}

/**
 * Runs `wasm` (a traced build) and a fresh program interpreter in lockstep over the case's
 * tokens for positions 0..`position`, comparing every op's output slots after it ran.
 */
export async function traceAgainstReference(bundle: Bundle, wasm: Uint8Array, caseIndex: number, position: number, opts: TraceOptions = {}): Promise<{ first: OpDifference | null; step: bigint; reference: bigint }> {
  const c = bundle.contents;
  const prog = c.program;
  const tokens = c.conformance[caseIndex].tokens;
  const interp = new ProgramInterpreter(c);
  const artifact = opts.runtimeArtifact ?? bundle.artifact;
  let ex!: { memory: WebAssembly.Memory; reserve(n: number): number; load(n: number): number; forward(t: number, p: number): number; logits(): number; logits_hash(): bigint };
  let pos = -1;
  let first: OpDifference | null = null;
  const outSlot = prog.slots[prog.outputs[0].index];
  const imports = {
    host: { print: () => {} },
    debug: {
      after_op: (i: number) => {
        interp.runOp(i);
        if (first) return;
        const arena = ex.logits() - outSlot.offset;
        const mem = new Uint8Array(ex.memory.buffer);
        const outs = interp.opOutputs(i);
        if (opts.perturbOp === i && pos === position && outs.length) mem[arena + prog.slots[outs[0].slot].offset] ^= 1;
        for (const { slot, bytes: ref } of outs) {
          const s = prog.slots[slot];
          const got = mem.subarray(arena + s.offset, arena + s.offset + s.size);
          for (let b = 0; b < ref.length; b++) {
            if (ref[b] !== got[b]) { first = difference(bundle, pos, i, slot, b, ref, got); return; }
          }
        }
      },
    },
  };
  const inst = await WebAssembly.instantiate(new Uint8Array(wasm), imports);
  ex = inst.instance.exports as unknown as typeof ex;
  const ptr = ex.reserve(artifact.length);
  new Uint8Array(ex.memory.buffer, ptr, artifact.length).set(artifact);
  const code = ex.load(artifact.length);
  if (code !== 0) throw new EdgeqError(`--layers: the traced runtime rejected the artifact (code ${code})`);
  for (pos = 0; pos <= position; pos++) {
    interp.begin(tokens[pos], pos);
    const err = ex.forward(tokens[pos], pos);
    if (err !== 0) throw new EdgeqError(`--layers: forward(${tokens[pos]}, ${pos}) failed with code ${err}`);
    if (pos === position) break;
  }
  const l = interp.logits();
  return { first, step: BigInt.asUintN(64, ex.logits_hash()), reference: fnv1a64(new Uint8Array(l.buffer, l.byteOffset, l.byteLength)) };
}

const builds = new Map<string, Promise<Uint8Array>>();
/** The traced build of `bundle`'s program, with or without SIMD (content-cached). */
export async function tracedBuild(bundle: Bundle, simd: boolean): Promise<Uint8Array> {
  const src = tracedSource(bundle, simd);
  const key = `${simd}\0${src}`;
  let p = builds.get(key);
  if (!p) {
    p = cachedBuild(sha256('traced-runtime', simd ? 'simd' : 'scalar', src, ...runtimeSources()), async (tmp) => {
      const r = await compileAssemblyScript({ entries: [ENTRY_PATH], sources: { [ENTRY_PATH]: src }, simd, optimize: 'speed' });
      writeFileSync(join(tmp, 'runtime.wasm'), r.wasm);
    }).then(({ dir }) => new Uint8Array(readFileSync(join(dir, 'runtime.wasm'))));
    builds.set(key, p);
  }
  return p;
}

export interface LocateOptions {
  /** The failing engine (default v8-simd when `simd`, else v8-scalar). */
  engine?: string;
  /** The flavour of the runtime the engine ran (EngineVerdict.runtime.simd); default: from the engine's name. */
  simd?: boolean;
  /** Also trace the other flavour (default true). */
  other?: boolean;
  /** Tests: a perturbation of the traced build of the engine's flavour (TraceOptions). */
  perturb?: TraceOptions;
}

const buildName = (simd: boolean) => `v8-${simd ? 'simd' : 'scalar'} (traced)`;

function describe(d: OpDifference): string {
  const at = d.coords.length > 1 ? `[${d.coords.join(', ')}]` : `${d.element}`;
  return `op #${d.index} ${d.name} (${d.kind}), slot ${d.slot} (${d.dtype} [${d.shape.join(', ')}]) byte ${d.byteOffset}, element ${at}: reference ${d.reference}, runtime ${d.runtime}` +
    (d.position !== undefined ? `, at position ${d.position}` : '');
}

/**
 * Locates the mismatch an engine showed at `position` of case `caseName`: the first op
 * whose output differs from the program interpreter's (the reference).
 */
export async function locateFirstDifference(bundle: Bundle, caseName: string, position: number, opts: LocateOptions = {}): Promise<LayersReport> {
  const c = bundle.contents;
  const ci = c.conformance.findIndex((k) => k.name === caseName);
  if (ci < 0) throw new EdgeqError(`--layers: no conformance case ${caseName}`);
  const engine = opts.engine ?? (opts.simd === false ? V8_BUILD_ENGINE.scalar : V8_BUILD_ENGINE.simd);
  const simd = opts.simd ?? (/-simd$/.test(engine) || !(/scalar|wasm2c/.test(engine) || isBoardEngine(engine)));
  const traced = buildName(simd);
  const standIn = engine.startsWith('v8-') ? null
    : `${engine} runs the ${simd ? 'SIMD' : 'scalar'} build of the runtime${/wasm2c/.test(engine) || isBoardEngine(engine) ? ' translated to C by wasm2c' : ''}; ` +
      `the V8 ${simd ? 'SIMD' : 'scalar'} traced build (same kernels, an after_op hook after each) stands in for it`;
  const [mine, theirs] = await Promise.all([tracedBuild(bundle, simd), opts.other === false ? null : tracedBuild(bundle, !simd)]);
  const t = await traceAgainstReference(bundle, mine, ci, position, opts.perturb);
  let other: BuildTrace | null = null;
  if (theirs) {
    const o = await traceAgainstReference(bundle, theirs, ci, position);
    other = { build: buildName(!simd), firstDifferingOp: o.first, stepHash: formatHash(o.step) };
  }
  const expected = formatHash(c.conformance[ci].outputHashes[position]);
  const stepHashes: [string, string] = [formatHash(t.reference), formatHash(t.step)];
  const first = t.first;
  let note: string;
  if (first) {
    note = `${describe(first)} is the first op output that differs from the reference`;
    if (other) {
      const od = other.firstDifferingOp;
      note += od === null ? `; the ${other.build} build matches the reference there (a ${simd ? 'SIMD' : 'scalar'}-only difference)`
        : od.index === first.index && od.position === first.position ? `; the ${other.build} build differs at the same op`
          : `; the ${other.build} build first differs elsewhere (op #${od.index} ${od.name} at position ${od.position})`;
    }
  } else if (stepHashes[0] !== expected) {
    note = `the ${traced} build matches the reference op by op up to position ${position}, but both differ from the embedded hash ` +
      `(${stepHashes[0]} vs ${expected}): the program (compiler/lower) or the artifact's conformance table disagrees with IntTransformer (runtime/reference/model.ts), not the kernels`;
  } else if (engine.startsWith('v8-')) {
    note = `the ${traced} build matches the reference op by op and the expected hash at position ${position}: ` +
      `the runtime ${engine} ran is not what the codegen generates from this program now (a stale or modified runtime.wasm?), not a kernel difference`;
  } else {
    note = `the ${traced} build matches the reference op by op and the expected hash at position ${position} on V8: ` +
      `the difference is in ${engine}'s translation or execution (wasm2c, C compiler, emulator, interpreter), not in the runtime's kernels`;
  }
  if (standIn) note += ` (${standIn})`;
  return { engine, traced, standIn, compared: [REFERENCE, traced], case: caseName, position, firstDifferingOp: first, stepHashes, expected, other, note };
}
