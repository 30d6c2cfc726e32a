// What one op kind is, stated once (compiler/ops/kinds/<kind>.ts; the list: registry.ts).
// Everything else that knows an op derives from its definition: the lowering builds ops
// with `buildOp` (params by name, in the definition's order), the program interpreter
// binds with `interpret`, the runtime generator (compiler/codegen/runtime.ts) dispatches
// to `device`'s AssemblyScript functions, and npm run gen:ops generates from it the spec's
// op table (docs/integer-spec.md §10, from `inputs`/`outputs`/`params`), the device's
// param checks (runtime/assembly/op-param-checks.ts, from each param's `rules`) and its
// check/run functions (runtime/assembly/ops.ts and ops-simd.ts, from `device`). docs/ops.md
// says how to add one.
import type { OpKindName } from '../emit/artifact-contents.ts';
import type { Operands, Step } from './operands.ts';
import type { ParamRule } from './param-rules.ts';

/** An operand slot as the spec's table shows it: name, then dtype and shape (e.g. "x i32 [n]"). */
export interface OperandDef {
  name: string;
  /** dtype and shape, in the spec's words ("i32 [n]", "input position", "(same slot)"). */
  type: string;
  /** How many operands this row of the table stands for (default 1). */
  count?: number;
}

export interface ParamDef {
  name: string;
  /** What the spec's table adds after the name (range, default), or nothing. */
  note?: string;
  /**
   * The admissible values (param-rules.ts), checked when a program is loaded: by the
   * interpreter (registry.ts checkParams) and by the device (runtime/assembly/
   * op-param-checks.ts, generated from these rules). None: any int32.
   */
  rules?: readonly ParamRule[];
}

/**
 * The kind's AssemblyScript functions, generated into runtime/assembly/ops.ts (and
 * ops-simd.ts) by npm run gen:ops. In `operands` and the bodies every param is a local
 * of its name; the helpers of runtime/assembly/runtime.ts (inp, outp, isSlot, inPos, ...),
 * I8/I16/I32/U8, SCALE_ELEMS, groupedFormatDType and the kernel constants are in scope.
 */
export interface DeviceBinding {
  /** Load-time check (ops.ts): counts, params (op-param-checks.ts), then `operands`. */
  check: string;
  /** Scalar run function (ops.ts). */
  run: string;
  /** SIMD run function (ops-simd.ts), for targets with SIMD; the scalar one otherwise. */
  simdRun?: string;
  /**
   * Proves that every address the kernel touches lies inside the operands it names, for
   * every admissible step input: a bool expression, or statements ending in `return`.
   */
  operands: string;
  /** The run function's body, calling the scalar kernel. */
  body: string;
  /** The SIMD run function's body (with simdRun), calling the SIMD kernel. */
  simdBody?: string;
  /** What the bodies import from runtime/kernels/{scalar,simd}/<kernel>.ts. */
  imports: string[];
  /** Bytes of static, 16-aligned scratch the bodies read as `scratch`. */
  scratch?: number;
  /**
   * Kinds whose output rows are independent (each row computed by exactly the same code
   * whichever rows are computed with it): the threaded V8 flavour (compiler/codegen/
   * threads.ts) splits them between threads. `body` runs the kernel (either flavour's) on
   * rows [lo, hi) only — `lo` a multiple of `align`, `hi` one too or the last row — and is
   * generated as `<run>Rows(r, lo, hi)` beside each run function; `count` names the param
   * that holds the number of rows.
   */
  rows?: { align: number; count: string; body: string };
}

/** Name of the rows [lo, hi) variant of run function `run` (DeviceBinding.rows). */
export const rowsName = (run: string): string => `${run}Rows`;

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
