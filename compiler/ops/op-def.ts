// What one op kind is, stated once (compiler/ops/kinds/<kind>.ts; the list: registry.ts).
// Everything else that knows an op derives from its definition: the lowering builds ops
// with `buildOp` (params by name, in the definition's order), the program interpreter
// binds with `interpret`, the runtime generator (compiler/codegen/runtime.ts) dispatches
// to `device`'s AssemblyScript functions, and the spec's op table (docs/integer-spec.md
// §10) is generated from `inputs`/`outputs`/`params` (npm run gen:ops). docs/ops.md says
// how to add one.
import type { OpKindName } from '../emit/artifact-contents.ts';
import type { Operands, Step } from './operands.ts';

/** An operand slot as the spec's table shows it: name, then dtype and shape (e.g. "x i32 [n]"). */
export interface OperandDef {
  name: string;
  /** dtype and shape, in the spec's words ("i32 [n]", "input position", "(same slot)"). */
  type: string;
}

export interface ParamDef {
  name: string;
  /** What the spec's table adds after the name (range, default), or nothing. */
  note?: string;
  /**
   * The admissible values, checked when a program is loaded by the interpreter (the
   * device checks the same ranges in runtime/assembly/ops.ts). Returns why `v` is not
   * admissible, or null. `all` is every param of the op by name.
   */
  check?: (v: number, all: Readonly<Record<string, number>>) => string | null;
}

/** The AssemblyScript functions of the kind in runtime/assembly/ops.ts (and ops-simd.ts). */
export interface DeviceBinding {
  /** Load-time check (ops.ts): every address the kernel touches lies in its operands. */
  check: string;
  /** Scalar run function (ops.ts). */
  run: string;
  /** SIMD run function (ops-simd.ts), for targets with SIMD; the scalar one otherwise. */
  simdRun?: string;
}

/**
 * A step function bound to one op's operands (typed views of the arena and tensors),
 * built once when the program is loaded.
 */
export type Interpret = (o: Operands, step: Step) => () => void;

export interface OpDef {
  kind: OpKindName;
  /** The kernel file under runtime/kernels/{reference,scalar[,simd]}/ (without .ts). */
  kernel: string;
  inputs: OperandDef[];
  outputs: OperandDef[];
  params: ParamDef[];
  device: DeviceBinding;
  interpret: Interpret;
  /**
   * Outputs whose bytes are private to the kernel pair that reads them (not specified):
   * executors may differ there without a bug, so `--layers` comparisons skip them.
   */
  opaque?: boolean;
}

/** Common param checks. */
export const positive = (v: number): string | null => (Number.isInteger(v) && v > 0 ? null : 'must be a positive integer');
export const inRange = (lo: number, hi: number) => (v: number): string | null =>
  (Number.isInteger(v) && v >= lo && v <= hi ? null : `must be an integer in [${lo}, ${hi}]`);
export const oneOf = (...vs: number[]) => (v: number): string | null => (vs.includes(v) ? null : `must be one of ${vs.join(', ')}`);
