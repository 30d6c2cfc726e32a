// "No f32/f64 instruction in the runtime", checked on the compiled module itself.
//
// The module is parsed with binaryen and walked completely: every function's signature
// and locals, every global's type and initializer, and every expression of every body.
// A value is float if its type is f32 or f64 (or a tuple holding one); an operation is
// float if its opcode names a float type (f32.add, f64x2.mul, f32x4.splat, i32.trunc_f32_s,
// i32x4.trunc_sat_f32x4_s, ...) -- which catches SIMD float ops on v128 values too, whose
// types alone look integer. Opcode names are binaryen's own text for the expression, so the
// check needs no table of opcodes to keep up to date. An expression kind the walker does
// not know is reported as well: unknown is never assumed to be float-free.
import binaryen from 'binaryen';
import { EdgeqError } from '../util/errors.ts';

export interface FloatFinding {
  /** Function (or `global <name>`) where it was found; exported names are shown too. */
  func: string;
  /** What is float: an opcode, or a typed value such as "param 0: f32". */
  what: string;
  /** How many times this (func, what) pair occurs. */
  count: number;
}

/** Expression fields that hold child expressions (single refs or arrays of refs), by id. */
const CHILDREN: Array<[number, string[]]> = [
  [binaryen.BlockId, ['children']],
  [binaryen.IfId, ['condition', 'ifTrue', 'ifFalse']],
  [binaryen.LoopId, ['body']],
  [binaryen.BreakId, ['condition', 'value']],
  [binaryen.SwitchId, ['condition', 'value']],
  [binaryen.CallId, ['operands']],
  [binaryen.CallIndirectId, ['target', 'operands']],
  [binaryen.LocalGetId, []],
  [binaryen.LocalSetId, ['value']],
  [binaryen.GlobalGetId, []],
  [binaryen.GlobalSetId, ['value']],
  [binaryen.LoadId, ['ptr']],
  [binaryen.StoreId, ['ptr', 'value']],
  [binaryen.ConstId, []],
  [binaryen.UnaryId, ['value']],
  [binaryen.BinaryId, ['left', 'right']],
  [binaryen.SelectId, ['ifTrue', 'ifFalse', 'condition']],
  [binaryen.DropId, ['value']],
  [binaryen.ReturnId, ['value']],
  [binaryen.NopId, []],
  [binaryen.UnreachableId, []],
  [binaryen.MemorySizeId, []],
  [binaryen.MemoryGrowId, ['delta']],
  [binaryen.AtomicRMWId, ['ptr', 'value']],
  [binaryen.AtomicCmpxchgId, ['ptr', 'expected', 'replacement']],
  [binaryen.AtomicWaitId, ['ptr', 'expected', 'timeout']],
  [binaryen.AtomicNotifyId, ['ptr', 'notifyCount']],
  [binaryen.AtomicFenceId, []],
  [binaryen.SIMDExtractId, ['vec']], // `index` is a lane number, not an expression
  [binaryen.SIMDReplaceId, ['vec', 'value']],
  [binaryen.SIMDShuffleId, ['left', 'right']],
  [binaryen.SIMDTernaryId, ['a', 'b', 'c']],
  [binaryen.SIMDShiftId, ['vec', 'shift']],
  [binaryen.SIMDLoadId, ['ptr']],
  [binaryen.SIMDLoadStoreLaneId, ['ptr', 'vec']],
  [binaryen.MemoryInitId, ['dest', 'offset', 'size']],
  [binaryen.DataDropId, []],
  [binaryen.MemoryCopyId, ['dest', 'source', 'size']],
  [binaryen.MemoryFillId, ['dest', 'value', 'size']],
  [binaryen.TupleMakeId, ['operands']],
  [binaryen.TupleExtractId, ['tuple']],
  [binaryen.RefNullId, []],
  [binaryen.RefIsNullId, ['value']],
  [binaryen.RefFuncId, []],
  [binaryen.RefEqId, ['left', 'right']],
  [binaryen.TableGetId, ['index']],
  [binaryen.TableSetId, ['index', 'value']],
  [binaryen.TableSizeId, []],
  [binaryen.TableGrowId, ['value', 'delta']],
];
const CHILD_FIELDS = new Map(CHILDREN);
/** Kinds whose opcode varies (`op` field): their text name decides float-ness. */
const HAS_OPCODE = new Set([
  binaryen.UnaryId, binaryen.BinaryId, binaryen.SIMDExtractId, binaryen.SIMDReplaceId,
  binaryen.SIMDTernaryId, binaryen.SIMDShiftId, binaryen.SIMDLoadId, binaryen.SIMDLoadStoreLaneId,
]);
const ID_NAMES = new Map(
  Object.entries(binaryen).filter(([k, v]) => k.endsWith('Id') && typeof v === 'number').map(([k, v]) => [v as number, k.slice(0, -2)]),
);

/** An opcode name that involves a float type: f32.*, f64x2.*, *_f32*, *_f64x2*, ... */
const FLOAT_OPCODE = /(^|[._])f(32|64)/;

function floatTypeName(t: binaryen.Type): string | null {
  const parts = binaryen.expandType(t);
  const names = parts.map((p) => (p === binaryen.f32 ? 'f32' : p === binaryen.f64 ? 'f64' : null));
  return names.some((n) => n !== null) ? names.map((n, i) => n ?? typeName(parts[i])).join(',') : null;
}

function typeName(t: binaryen.Type): string {
  return t === binaryen.i32 ? 'i32' : t === binaryen.i64 ? 'i64' : t === binaryen.v128 ? 'v128' : `type ${t}`;
}

/** Every float-typed value or float opcode in the module, grouped by function. */
export function findFloats(wasm: Uint8Array): FloatFinding[] {
  const mod = binaryen.readBinaryWithFeatures(wasm, binaryen.Features.All);
  try {
    return walk(mod);
  } finally {
    mod.dispose();
  }
}

function walk(mod: binaryen.Module): FloatFinding[] {
  const counts = new Map<string, FloatFinding>();
  const report = (func: string, what: string) => {
    const key = `${func}\0${what}`;
    const f = counts.get(key);
    if (f) f.count++;
    else counts.set(key, { func, what, count: 1 });
  };
  const exportNames = new Map<string, string[]>();
  for (let i = 0; i < mod.getNumExports(); i++) {
    const e = binaryen.getExportInfo(mod.getExportByIndex(i));
    exportNames.set(`${e.kind}:${e.value}`, [...(exportNames.get(`${e.kind}:${e.value}`) ?? []), e.name]);
  }
  const label = (kind: number, name: string, prefix = '') => {
    const ex = exportNames.get(`${kind}:${name}`);
    return `${prefix}$${name}${ex ? ` (export ${ex.map((n) => JSON.stringify(n)).join(', ')})` : ''}`;
  };
  const opNames = new Map<string, string>();
  const opName = (id: number, op: number, expr: binaryen.ExpressionRef) => {
    const key = `${id}:${op}`;
    let name = opNames.get(key);
    if (name === undefined) {
      name = /^\(\s*([^\s()]+)/.exec(binaryen.emitText(expr))?.[1] ?? `op ${op}`;
      opNames.set(key, name);
    }
    return name;
  };

  const walkExpr = (root: binaryen.ExpressionRef, where: string) => {
    const stack = [root];
    while (stack.length) {
      const expr = stack.pop()!;
      if (!expr) continue;
      const id = binaryen.getExpressionId(expr);
      const type = binaryen.getExpressionType(expr);
      const fields = CHILD_FIELDS.get(id);
      const kind = ID_NAMES.get(id) ?? `expression id ${id}`;
      if (fields === undefined) {
        report(where, `${kind} (an expression kind the float check does not know)`);
        continue;
      }
      // Leaves need no info object (and binaryen.js has none for some, e.g. Unreachable).
      let info: Record<string, unknown> = {};
      if (fields.length > 0 || HAS_OPCODE.has(id)) {
        try {
          info = binaryen.getExpressionInfo(expr) as unknown as Record<string, unknown>;
        } catch {
          report(where, `${kind} (binaryen.js cannot describe it; not proven float-free)`);
          continue;
        }
      }
      const op = HAS_OPCODE.has(id) ? opName(id, info.op as number, expr) : null;
      const ft = floatTypeName(type);
      if (op !== null && FLOAT_OPCODE.test(op)) report(where, op);
      else if (ft !== null) report(where, `${op ?? kind}: ${ft}`);
      for (const f of fields) {
        const v = info[f];
        if (Array.isArray(v)) stack.push(...(v as number[]));
        else if (typeof v === 'number') stack.push(v);
      }
    }
  };

  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const f = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    const where = label(binaryen.ExternalFunction, f.name, f.module ? `import ${f.module}.${f.base} ` : '');
    const params = binaryen.expandType(f.params);
    params.forEach((t, j) => { const n = floatTypeName(t); if (n) report(where, `param ${j}: ${n}`); });
    binaryen.expandType(f.results).forEach((t, j) => { const n = floatTypeName(t); if (n) report(where, `result ${j}: ${n}`); });
    // Locals are numbered after the params, as in the text format.
    f.vars.forEach((t, j) => { const n = floatTypeName(t); if (n) report(where, `local ${params.length + j}: ${n}`); });
    if (f.body) walkExpr(f.body, where);
  }
  for (let i = 0; i < mod.getNumGlobals(); i++) {
    const g = binaryen.getGlobalInfo(mod.getGlobalByIndex(i));
    const where = label(binaryen.ExternalGlobal, g.name, 'global ');
    const n = floatTypeName(g.type);
    if (n) report(where, `type ${n}`);
    if (g.init) walkExpr(g.init, where);
  }
  return [...counts.values()];
}

/** Throws an EdgeqError listing the float uses in `wasm` (named `what`), if any. */
export function assertNoFloats(wasm: Uint8Array, what = 'runtime.wasm'): void {
  const found = findFloats(wasm);
  if (found.length === 0) return;
  const lines = found.slice(0, 20).map((f) => `  ${f.func}: ${f.what}${f.count > 1 ? ` (x${f.count})` : ''}`);
  if (found.length > 20) lines.push(`  ... and ${found.length - 20} more`);
  throw new EdgeqError(`${what} is not integer-only: it uses floats in\n${lines.join('\n')}`);
}
