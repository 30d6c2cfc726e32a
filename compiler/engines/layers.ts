// `edgeq verify --layers`: which op of the program first produces a different output.
//
// A *traced* build of the runtime is generated from the same program (the codegen's own
// entry source, compiler/codegen/runtime.ts, with one extra call after each kernel in
// forward's dispatch: `debug.after_op(i)`, an import), compiled at the same optimization
// level, once with and once without SIMD. Both run on V8 up to the failing position, and
// after every op of that position the host hashes the op's output slots in the arena.
// The first op whose outputs differ between the two builds is named.
//
// What it can and cannot tell: it localizes a SIMD-vs-scalar disagreement (the two V8
// builds) to one op. When the two builds agree op by op but differ from the embedded
// hashes, every engine shares the difference with the integer reference and locating it
// needs a per-op TypeScript interpreter of the program (runtime/reference/model.ts is a
// whole-model reference, not per op); the report then says so.
import { compileAssemblyScript } from '../codegen/asc.ts';
import { ENTRY_PATH, generateRuntimeSource } from '../codegen/runtime.ts';
import { fnv1a64 } from '../emit/conformance-hash.ts';
import { formatHash, type Bundle } from './engine.ts';
import { EdgeqError } from '../util/errors.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedBuild, sha256 } from './cache.ts';
import { runtimeSources } from './runtime-flavour.ts';

export interface OpTrace { index: number; name: string; kind: string; outputs: string[]; hash: bigint }

export interface LayersReport {
  compared: [string, string];
  case: string;
  position: number;
  /** null when every op's outputs agreed. */
  firstDifferingOp: { index: number; name: string; kind: string; outputs: string[]; hashes: [string, string] } | null;
  /** The step output of the two builds at that position vs the embedded hash. */
  stepHashes: [string, string];
  expected: string;
  note: string;
}

/** The codegen's entry for `simd`, with `afterOp(i)` after each kernel call. */
export function tracedSource(bundle: Bundle, simd: boolean): string {
  const c = bundle.contents;
  const src = generateRuntimeSource(c.config, c.program, { name: c.target.name, simd }).source;
  let n = 0;
  const patched = src.replace(/(case OpKind\.\w+: \w+\(r\);) break;/g, (_m, call: string) => { n++; return `${call} afterOp(i); break;`; });
  if (n === 0) throw new EdgeqError('--layers: the runtime codegen\'s dispatch changed shape (no "case OpKind.x: run(r); break;" found); compiler/engines/layers.ts needs updating');
  return `${patched}\n// @ts-ignore: decorator\n@external("debug", "after_op")\ndeclare function afterOp(i: i32): void;\n`;
}

interface Traced { ops: OpTrace[]; step: bigint }

/**
 * Runs `wasm` (a traced build) from position 0 to `position` over the case's tokens and
 * returns the hash of each op's outputs at `position`. `perturb` (tests) flips one byte of
 * op `perturb`'s first output right after it ran, as a kernel bug would.
 */
export async function traceRun(bundle: Bundle, wasm: Uint8Array, caseIndex: number, position: number, perturb?: number): Promise<Traced> {
  const c = bundle.contents;
  const prog = c.program;
  const tokens = c.conformance[caseIndex].tokens;
  let ex!: { memory: WebAssembly.Memory; reserve(n: number): number; load(n: number): number; forward(t: number, p: number): number; logits(): number; logits_hash(): bigint };
  let pos = -1;
  const ops: OpTrace[] = [];
  const outSlot = prog.slots[prog.outputs[0].index];
  const imports = {
    host: { print: () => {} },
    debug: {
      after_op: (i: number) => {
        if (pos !== position) return;
        const arena = ex.logits() - outSlot.offset;
        const mem = new Uint8Array(ex.memory.buffer);
        const op = prog.ops[i];
        const slots = op.outputs.filter((r) => r.kind === 'slot').map((r) => prog.slots[r.index]);
        if (perturb === i && slots.length) mem[arena + slots[0].offset] ^= 1;
        const parts = slots.map((s) => mem.subarray(arena + s.offset, arena + s.offset + s.size));
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let o = 0;
        for (const p of parts) { all.set(p, o); o += p.length; }
        ops.push({ index: i, name: op.name ?? `op ${i}`, kind: op.kind, outputs: slots.map((s, k) => s.name ?? `slot ${op.outputs[k].index}`), hash: fnv1a64(all) });
      },
    },
  };
  const inst = await WebAssembly.instantiate(new Uint8Array(wasm), imports);
  ex = inst.instance.exports as unknown as typeof ex;
  const ptr = ex.reserve(bundle.artifact.length);
  new Uint8Array(ex.memory.buffer, ptr, bundle.artifact.length).set(bundle.artifact);
  const code = ex.load(bundle.artifact.length);
  if (code !== 0) throw new EdgeqError(`--layers: the traced runtime rejected the artifact (code ${code})`);
  for (pos = 0; pos <= position; pos++) {
    const err = ex.forward(tokens[pos], pos);
    if (err !== 0) throw new EdgeqError(`--layers: forward(${tokens[pos]}, ${pos}) failed with code ${err}`);
    if (pos === position) break;
  }
  return { ops, step: BigInt.asUintN(64, ex.logits_hash()) };
}

const builds = new Map<string, Promise<Uint8Array>>();
async function tracedBuild(bundle: Bundle, simd: boolean): Promise<Uint8Array> {
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

/** Compares the SIMD and scalar traced builds op by op at `position` of case `caseName`. */
export async function locateFirstDifference(bundle: Bundle, caseName: string, position: number, perturbScalarOp?: number): Promise<LayersReport> {
  const ci = bundle.contents.conformance.findIndex((c) => c.name === caseName);
  if (ci < 0) throw new EdgeqError(`--layers: no conformance case ${caseName}`);
  const [a, b] = await Promise.all([tracedBuild(bundle, true), tracedBuild(bundle, false)]);
  const ta = await traceRun(bundle, a, ci, position);
  const tb = await traceRun(bundle, b, ci, position, perturbScalarOp);
  if (ta.ops.length !== bundle.contents.program.ops.length || tb.ops.length !== ta.ops.length) {
    throw new EdgeqError(`--layers: traced ${ta.ops.length}/${tb.ops.length} ops, the program has ${bundle.contents.program.ops.length}`);
  }
  const expected = formatHash(bundle.contents.conformance[ci].outputHashes[position]);
  const stepHashes: [string, string] = [formatHash(ta.step), formatHash(tb.step)];
  let first: LayersReport['firstDifferingOp'] = null;
  for (let i = 0; i < ta.ops.length; i++) {
    if (ta.ops[i].hash !== tb.ops[i].hash) {
      const o = ta.ops[i];
      first = { index: o.index, name: o.name, kind: o.kind, outputs: o.outputs, hashes: [formatHash(o.hash), formatHash(tb.ops[i].hash)] };
      break;
    }
  }
  const note = first
    ? `op #${first.index} ${first.name} (${first.kind}) is the first whose output (${first.outputs.join(', ')}) differs between the SIMD and scalar builds at position ${position}`
    : stepHashes[0] === expected
      ? `the SIMD and scalar builds agree op by op and match the expected hash at position ${position} on V8: the difference is in the failing engine's translation (wasm2c/C compiler/emulator), not in the runtime's kernels`
      : `the SIMD and scalar builds agree op by op at position ${position} but both differ from the integer reference (${stepHashes[0]} vs ${expected}): a kernel shared by both builds differs from runtime/reference; a per-op TypeScript interpreter of the program would be needed to name it`;
  return { compared: ['v8-simd (traced)', 'v8-scalar (traced)'], case: caseName, position, firstDifferingOp: first, stepHashes, expected, note };
}
