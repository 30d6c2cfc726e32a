// The device-side verifier of model.edgeq: checks everything the runtime will follow
// before anything follows it, and returns a VerifyError code (schemas/edgeq.fbs; host
// messages in compiler/emit/verify-errors.ts) instead of ever reading outside the buffer.
//
// - Every read is preceded by a bounds check against [0, len), done in u64 so no sum can
//   wrap. The buffer itself must lie inside linear memory (checked first), so no load traps.
// - The schema has no recursive types, so nesting depth is fixed (Model > Program > Op >
//   Ref at most); counts are capped by the LIMITS below and by a work budget proportional
//   to the buffer size, so a hostile file cannot make the verifier loop for long even when
//   many offsets point at the same object.
// - After verify() returns ok, every accessor in flatbuffer.ts is safe.
import {
  BlockPlanVT, ConformanceCaseVT, DType, FORMAT_VERSION, HashKind, KeyValueVT, MatrixPlanVT,
  MetadataVT, ModelConfigVT, ModelVT, MODEL_IDENTIFIER, OpVT, OP_KIND_LAST, PrecisionPlanVT,
  PROGRAM_INPUT_LAST, ProgramVT, QuantVT, RefKind, RefLayout, SlotVT, TargetVT, TensorVT,
  TokenizerKind, TokenizerVT, TOKENIZER_KIND_LAST, VerifyError,
} from "./generated/schema";
import { blockBytes, isGroupSizeOf, matrixBytes, padsToGroup } from "./dtype-sizes";

// Limits; compiler/emit/limits.ts holds the same numbers (a test compares them).
export const MAX_RANK: u32 = 8;
export const MAX_TENSORS: u32 = 1 << 16;
export const MAX_SLOTS: u32 = 1 << 16;
export const MAX_OPS: u32 = 1 << 20;
export const MAX_REFS: u32 = 16;
export const MAX_PARAMS: u32 = 1 << 16;
export const MAX_VOCAB: u32 = 1 << 20;
export const MAX_CONFORMANCE_CASES: u32 = 64;
export const MAX_PLAN_BLOCKS: u32 = 1 << 12;
export const MAX_KEY_VALUES: u32 = 256;
export const MAX_ELEMENTS: u32 = 0xffffffff;

const NO_MAX: u32 = 0xffffffff;
const DATA_ALIGN: u32 = 16;

// State of one verify() call. Errors are sticky: the first one wins, and every check
// returns false (or 0) once one is set, so callers just propagate.
let base: usize = 0;
let len: u32 = 0;
let err: i32 = 0;
let errAt: u32 = 0;
let budget: i64 = 0;
/** Position of the vector found by the last vecField() call (0: absent). */
let vecAt: u32 = 0;

function fail(code: i32, at: u32): bool {
  if (err == 0) { err = code; errAt = at; }
  return false;
}

/** Byte offset (from the artifact start) where the first error was found. */
export function errorOffset(): u32 { return errAt; }

// @ts-ignore: decorator
@inline function fits(off: u64, n: u64): bool { return off + n <= <u64>len; }
// @ts-ignore: decorator
@inline function u8at(off: u32): u32 { return <u32>load<u8>(base + <usize>off); }
// @ts-ignore: decorator
@inline function u16at(off: u32): u32 { return <u32>load<u16>(base + <usize>off); }
// @ts-ignore: decorator
@inline function u32at(off: u32): u32 { return load<u32>(base + <usize>off); }
// @ts-ignore: decorator
@inline function i32at(off: u32): i32 { return load<i32>(base + <usize>off); }

function spend(at: u32): bool {
  budget -= 1;
  return budget >= 0 ? true : fail(VerifyError.too_many, at);
}

// ---- FlatBuffers structure -----------------------------------------------------------

/** Checks the table at `t` and its vtable lie inside the buffer and are well formed. */
function table(t: u32): bool {
  if (err != 0 || !spend(t)) return false;
  if ((t & 3) != 0) return fail(VerifyError.misaligned, t);
  if (!fits(t, 4)) return fail(VerifyError.out_of_bounds, t);
  const vt = <i64>t - <i64>i32at(t);
  if (vt < 0 || !fits(<u64>vt, 4)) return fail(VerifyError.out_of_bounds, t);
  const v = <u32>vt;
  if ((v & 1) != 0) return fail(VerifyError.misaligned, v);
  const vsize = u16at(v);
  const tsize = u16at(v + 2);
  if (vsize < 4 || (vsize & 1) != 0 || tsize < 4) return fail(VerifyError.bad_vtable, v);
  if (!fits(v, vsize)) return fail(VerifyError.out_of_bounds, v);
  if (!fits(t, tsize)) return fail(VerifyError.out_of_bounds, t);
  return true;
}

/**
 * Offset of field `slot` (a <Table>VT value) of the checked table `t`, holding `size`
 * bytes; 0 when absent or on error. A field must lie inside its table and be aligned to
 * its size (FlatBuffers writers always align scalars).
 */
function field(t: u32, slot: i32, size: u32): u32 {
  if (err != 0) return 0;
  const v = <u32>(<i64>t - <i64>i32at(t));
  if (<u32>slot + 2 > u16at(v)) return 0; // an older writer's shorter vtable: default
  const fo = u16at(v + <u32>slot);
  if (fo == 0) return 0;
  if (fo < 4 || fo + size > u16at(v + 2)) { fail(VerifyError.bad_vtable, v + <u32>slot); return 0; }
  const p = t + fo;
  if ((p & (size - 1)) != 0) { fail(VerifyError.misaligned, p); return 0; }
  return p;
}

function u8Field(t: u32, slot: i32, def: u32): u32 { const p = field(t, slot, 1); return p != 0 ? u8at(p) : def; }
function u16Field(t: u32, slot: i32, def: u32): u32 { const p = field(t, slot, 2); return p != 0 ? u16at(p) : def; }
function u32Field(t: u32, slot: i32, def: u32): u32 { const p = field(t, slot, 4); return p != 0 ? u32at(p) : def; }
function i32Field(t: u32, slot: i32, def: i32): i32 { const p = field(t, slot, 4); return p != 0 ? i32at(p) : def; }

/** Target of a uoffset field (table, vector or string), checked to be inside; 0: absent/error. */
function refField(t: u32, slot: i32): u32 {
  const p = field(t, slot, 4);
  if (p == 0) return 0;
  const target = <u64>p + <u64>u32at(p);
  if (target >= <u64>len) { fail(VerifyError.out_of_bounds, p); return 0; }
  return <u32>target;
}

/**
 * Element count of the vector at `v` of `elem`-byte elements whose first element must be
 * `align`-aligned (8 for [ulong], 4 for everything else: ints, offsets, Ref structs), or
 * -1 (error set).
 */
function vector(v: u32, elem: u32, max: u32, align: u32 = 4): i64 {
  if ((v & 3) != 0) { fail(VerifyError.misaligned, v); return -1; }
  if (!fits(v, 4)) { fail(VerifyError.out_of_bounds, v); return -1; }
  const n = u32at(v);
  if (!fits(<u64>v + 4, <u64>n * <u64>elem)) { fail(VerifyError.out_of_bounds, v); return -1; }
  if (((v + 4) & (align - 1)) != 0) { fail(VerifyError.misaligned, v); return -1; }
  if (n > max) { fail(VerifyError.too_many, v); return -1; }
  return <i64>n;
}

/** A vector field: its count (0 when absent; vecAt = 0) or -1 on error. Sets vecAt. */
function vecField(t: u32, slot: i32, elem: u32, max: u32, align: u32 = 4): i64 {
  vecAt = refField(t, slot);
  if (vecAt == 0) return err != 0 ? -1 : 0;
  return vector(vecAt, elem, max, align);
}

function string(s: u32): bool {
  const n = vector(s, 1, NO_MAX);
  if (n < 0) return false;
  const end = <u64>s + 4 + <u64>n;
  if (!fits(end, 1)) return fail(VerifyError.out_of_bounds, s);
  if (u8at(<u32>end) != 0) return fail(VerifyError.bad_string, <u32>end);
  return true;
}

function stringField(t: u32, slot: i32, required: bool): bool {
  const s = refField(t, slot);
  if (s == 0) return err == 0 && (!required || fail(VerifyError.missing_field, t));
  return string(s);
}

/** The table that element i of the vector at `v` (of offsets) points to; 0 on error. */
function elemTable(v: u32, i: u32): u32 {
  const p = v + 4 + (i << 2);
  const target = <u64>p + <u64>u32at(p);
  if (target >= <u64>len) { fail(VerifyError.out_of_bounds, p); return 0; }
  return table(<u32>target) ? <u32>target : 0;
}

/** Sub-table field: its offset after checking it (0 when absent or on error). */
function tableField(t: u32, slot: i32, required: bool): u32 {
  const s = refField(t, slot);
  if (s == 0) {
    if (err == 0 && required) fail(VerifyError.missing_field, t);
    return 0;
  }
  return table(s) ? s : 0;
}

// ---- element formats -----------------------------------------------------------------

/**
 * Byte size of a `dt` tensor whose `rank` u32 dims start at absolute address `dims`, by
 * the rule in schemas/edgeq.fbs (enum DType): whole blocks of the dtype (dtype-sizes.ts,
 * generated from the weight-format registry), a LUT values tensor's columns padded to whole
 * groups of G (its quant group_size, one of its format's; 0: no padding); -1 for an unknown
 * dtype or a bad shape. The dims must be readable (the caller checked the vector).
 */
export function dtypeBytes(dt: u32, dims: usize, rank: u32, G: u32): i64 {
  if (blockBytes(dt) == 0 || rank == 0 || rank > MAX_RANK) return -1;
  let rows: u64 = 1;
  for (let i: u32 = 0; i + 1 < rank; i++) {
    const d = load<u32>(dims + (<usize>i << 2));
    if (d == 0) return -1;
    rows *= <u64>d;
    if (rows > <u64>MAX_ELEMENTS) return -1;
  }
  const cols = <u64>load<u32>(dims + (<usize>(rank - 1) << 2));
  if (cols == 0 || rows * cols > <u64>MAX_ELEMENTS) return -1;
  return matrixBytes(dt, <i64>rows, <i64>cols, <i64>G);
}

/** Checks a shape field of `t` against `dt` (G: dtypeBytes'); returns the byte size or -1 (error set). */
function shapeBytes(t: u32, slot: i32, dt: u32, G: u32): i64 {
  if (blockBytes(dt) == 0) { fail(VerifyError.bad_enum, t); return -1; }
  const rank = vecField(t, slot, 4, NO_MAX);
  if (rank < 0) return -1;
  const bytes = dtypeBytes(dt, base + <usize>vecAt + 4, <u32>rank, G);
  if (bytes < 0) { fail(VerifyError.bad_shape, vecAt != 0 ? vecAt : t); return -1; }
  return bytes;
}

// ---- the model -----------------------------------------------------------------------

let vocab: u32 = 0;
let seqLen: u32 = 0;
let nTensors: u32 = 0;
let nSlots: u32 = 0;

function config(root: u32): bool {
  const c = tableField(root, ModelVT.config, true);
  if (c == 0) return false;
  const dim = u32Field(c, ModelConfigVT.dim, 0);
  const hidden = u32Field(c, ModelConfigVT.hiddenDim, 0);
  const layers = u32Field(c, ModelConfigVT.nLayers, 0);
  const heads = u32Field(c, ModelConfigVT.nHeads, 0);
  const kvHeads = u32Field(c, ModelConfigVT.nKvHeads, 0);
  vocab = u32Field(c, ModelConfigVT.vocabSize, 0);
  seqLen = u32Field(c, ModelConfigVT.seqLen, 0);
  u8Field(c, ModelConfigVT.sharedClassifier, 0);
  const headSize = u32Field(c, ModelConfigVT.headSize, 0);
  if (err != 0) return false;
  if (dim == 0 || hidden == 0 || layers == 0 || heads == 0 || kvHeads == 0 || vocab == 0 ||
      seqLen == 0 || headSize == 0 || <u64>headSize * <u64>heads != <u64>dim || heads % kvHeads != 0) {
    return fail(VerifyError.bad_config, c);
  }
  if (vocab > MAX_VOCAB) return fail(VerifyError.too_many, c);
  return true;
}

function quant(q: u32, self: u32, rows: u32): bool {
  const nm = vecField(q, QuantVT.multipliers, 4, NO_MAX);
  const ns = vecField(q, QuantVT.shifts, 4, NO_MAX);
  if (vecField(q, QuantVT.params, 4, MAX_PARAMS) < 0) return false;
  if (vecField(q, QuantVT.hostScales, 4, NO_MAX) < 0) return false; // (host) floats: bounds only
  i32Field(q, QuantVT.zeroPoint, 0);
  u32Field(q, QuantVT.groupSize, 0);
  const st = i32Field(q, QuantVT.scalesTensor, -1);
  if (nm < 0 || ns < 0 || err != 0) return false;
  if (nm != ns || (nm > 1 && nm != <i64>rows)) return fail(VerifyError.bad_quant, q);
  if (st < -1 || (st >= 0 && (<u32>st >= nTensors || <u32>st == self))) return fail(VerifyError.bad_quant, q);
  return true;
}

function tensor(t: u32, i: u32): bool {
  if (!table(t) || !stringField(t, TensorVT.name, true)) return false;
  const dt = u8Field(t, TensorVT.dtype, DType.invalid);
  if (err != 0) return false;
  // A LUT values tensor's size depends on its group size (columns padded to whole groups):
  // its quant's group_size, which must then be one of its format's.
  let G: u32 = 0;
  if (padsToGroup(dt)) {
    const q = tableField(t, TensorVT.quant, false);
    if (err != 0) return false;
    G = q == 0 ? 0 : u32Field(q, QuantVT.groupSize, 0);
    if (err != 0) return false;
    if (G != 0 && !isGroupSizeOf(dt, G)) return fail(VerifyError.bad_quant, q);
  }
  const bytes = shapeBytes(t, TensorVT.shape, dt, G);
  if (bytes < 0) return false;
  const dims = vecAt;
  const n = vecField(t, TensorVT.data, 1, NO_MAX);
  if (n < 0) return false;
  if (vecAt == 0) return fail(VerifyError.missing_field, t);
  if (n != bytes) return fail(VerifyError.size_mismatch, vecAt);
  if (((base + <usize>vecAt + 4) & (DATA_ALIGN - 1)) != 0) return fail(VerifyError.data_misaligned, vecAt + 4);
  const q = tableField(t, TensorVT.quant, false);
  if (err != 0) return false;
  return q == 0 || quant(q, i, u32at(dims + 4));
}

function tensors(root: u32): bool {
  const n = vecField(root, ModelVT.tensors, 4, MAX_TENSORS);
  if (n < 0) return false;
  nTensors = <u32>n;
  const v = vecAt;
  for (let i: u32 = 0; i < nTensors; i++) {
    const t = elemTable(v, i);
    if (t == 0 || !tensor(t, i)) return false;
  }
  return true;
}

function slot(s: u32, arena: u32): bool {
  if (!table(s) || !stringField(s, SlotVT.name, false)) return false;
  const dt = u8Field(s, SlotVT.dtype, DType.invalid);
  if (err != 0) return false;
  const bytes = shapeBytes(s, SlotVT.shape, dt, 0);
  if (bytes < 0) return false;
  const off = u32Field(s, SlotVT.offset, 0);
  const size = u32Field(s, SlotVT.size, 0);
  if (err != 0) return false;
  if ((off & (DATA_ALIGN - 1)) != 0) return fail(VerifyError.data_misaligned, s);
  if (<i64>size != bytes) return fail(VerifyError.size_mismatch, s);
  if (<u64>off + <u64>size > <u64>arena) return fail(VerifyError.arena_out_of_bounds, s);
  return true;
}

/** Checks the Ref structs of a vector field; outputs may only name slots. */
function refs(t: u32, fieldSlot: i32, output: bool, required: bool): bool {
  const n = vecField(t, fieldSlot, RefLayout.SIZE, MAX_REFS);
  if (n < 0) return false;
  if (n == 0 && required) return fail(VerifyError.missing_field, t);
  const v = vecAt;
  for (let j: u32 = 0; j < <u32>n; j++) {
    const r = v + 4 + j * RefLayout.SIZE;
    if (!spend(r)) return false;
    const kind = u8at(r + RefLayout.kind);
    const index = u32at(r + RefLayout.index);
    let count: u32 = 0;
    if (kind == RefKind.tensor) count = nTensors;
    else if (kind == RefKind.slot) count = nSlots;
    else if (kind == RefKind.input) count = PROGRAM_INPUT_LAST + 1;
    else return fail(VerifyError.bad_enum, r);
    if (index >= count || (output && kind != RefKind.slot)) return fail(VerifyError.bad_ref, r);
  }
  return true;
}

function program(root: u32): bool {
  const p = tableField(root, ModelVT.program, true);
  if (p == 0) return false;
  const arena = u32Field(p, ProgramVT.arenaSize, 0);
  if (err != 0) return false;
  if ((arena & (DATA_ALIGN - 1)) != 0) return fail(VerifyError.data_misaligned, p);
  const ns = vecField(p, ProgramVT.slots, 4, MAX_SLOTS);
  if (ns < 0) return false;
  nSlots = <u32>ns;
  const sv = vecAt;
  for (let i: u32 = 0; i < nSlots; i++) {
    const s = elemTable(sv, i);
    if (s == 0 || !slot(s, arena)) return false;
  }
  const no = vecField(p, ProgramVT.ops, 4, MAX_OPS);
  if (no < 0) return false;
  const ov = vecAt;
  for (let i: u32 = 0; i < <u32>no; i++) {
    const op = elemTable(ov, i);
    if (op == 0) return false;
    const kind = u16Field(op, OpVT.kind, 0);
    if (err != 0) return false;
    if (kind == 0 || kind > OP_KIND_LAST) return fail(VerifyError.bad_enum, op);
    if (!refs(op, OpVT.inputs, false, false) || !refs(op, OpVT.outputs, true, false)) return false;
    if (vecField(op, OpVT.params, 4, MAX_PARAMS) < 0 || !stringField(op, OpVT.name, false)) return false;
  }
  return refs(p, ProgramVT.outputs, true, true);
}

function dtypeField(t: u32, slot: i32): bool {
  const dt = u8Field(t, slot, DType.invalid);
  return err == 0 && (blockBytes(dt) != 0 || fail(VerifyError.bad_enum, t));
}

function plan(root: u32): bool {
  const pl = tableField(root, ModelVT.plan, false);
  if (pl == 0) return err == 0;
  if (!stringField(pl, PrecisionPlanVT.method, false)) return false;
  const nb = vecField(pl, PrecisionPlanVT.blocks, 4, MAX_PLAN_BLOCKS);
  if (nb < 0) return false;
  const bv = vecAt;
  for (let i: u32 = 0; i < <u32>nb; i++) {
    const b = elemTable(bv, i);
    if (b == 0) return false;
    u32Field(b, BlockPlanVT.block, 0);
    u8Field(b, BlockPlanVT.bits, 0);
    u32Field(b, BlockPlanVT.groupSize, 0);
    field(b, BlockPlanVT.entropy, 4); // (host) float: position checked, never read
    if (!dtypeField(b, BlockPlanVT.format) || !stringField(b, BlockPlanVT.rule, false)) return false;
    const nm = vecField(b, BlockPlanVT.matrices, 4, MAX_PARAMS);
    if (nm < 0) return false;
    const mv = vecAt;
    for (let j: u32 = 0; j < <u32>nm; j++) {
      const m = elemTable(mv, j);
      if (m == 0 || !stringField(m, MatrixPlanVT.name, false)) return false;
      u8Field(m, MatrixPlanVT.bits, 0);
      u32Field(m, MatrixPlanVT.groupSize, 0);
      field(m, MatrixPlanVT.entropy, 4);
      if (!dtypeField(m, MatrixPlanVT.format) || !stringField(m, MatrixPlanVT.rule, false)) return false;
    }
  }
  return true;
}

function target(root: u32): bool {
  const t = tableField(root, ModelVT.target, false);
  if (t == 0) return err == 0;
  u8Field(t, TargetVT.simd, 0);
  return stringField(t, TargetVT.name, false);
}

function tokenizer(root: u32): bool {
  const t = tableField(root, ModelVT.tokenizer, false);
  if (t == 0) return err == 0;
  const np = vecField(t, TokenizerVT.pieces, 4, MAX_VOCAB);
  if (np < 0) return false;
  if (<u32>np != vocab) return fail(VerifyError.bad_tokenizer, t);
  const pv = vecAt;
  for (let i: u32 = 0; i < <u32>np; i++) {
    const p = pv + 4 + (i << 2);
    const s = <u64>p + <u64>u32at(p);
    if (s >= <u64>len) return fail(VerifyError.out_of_bounds, p);
    if (!spend(p) || !string(<u32>s)) return false;
  }
  const ns = vecField(t, TokenizerVT.scores, 4, NO_MAX);
  const nh = vecField(t, TokenizerVT.hostScores, 4, NO_MAX);
  const fracBits = u8Field(t, TokenizerVT.scoreFracBits, 16);
  u32Field(t, TokenizerVT.maxTokenLength, 0);
  const bos = u32Field(t, TokenizerVT.bosId, 1);
  const eos = u32Field(t, TokenizerVT.eosId, 2);
  const kind = u8Field(t, TokenizerVT.kind, TokenizerKind.llama2c);
  u32Field(t, TokenizerVT.options, 0);
  // Token types: one byte per token or none. The other general fields are (host) only.
  const nt = vecField(t, TokenizerVT.tokenTypes, 1, NO_MAX, 1);
  if (ns < 0 || nh < 0 || nt < 0 || err != 0) return false;
  // spm/bpe may have no BOS or EOS: all ones says "none".
  const noneOk = kind != TokenizerKind.llama2c;
  if ((ns != 0 && <u32>ns != vocab) || (nh != 0 && <u32>nh != vocab) || fracBits > 31 ||
      (bos >= vocab && !(noneOk && bos == 0xffffffff)) || (eos >= vocab && !(noneOk && eos == 0xffffffff)) ||
      kind > TOKENIZER_KIND_LAST || (nt != 0 && <u32>nt != vocab)) {
    return fail(VerifyError.bad_tokenizer, t);
  }
  return true;
}

function metadata(root: u32): bool {
  const m = tableField(root, ModelVT.metadata, false);
  if (m == 0) return err == 0;
  const nsha = vecField(m, MetadataVT.sourceSha256, 1, NO_MAX);
  if (nsha < 0) return false;
  if (vecAt != 0 && nsha != 32) return fail(VerifyError.bad_length, vecAt);
  if (!stringField(m, MetadataVT.sourceName, false) || !stringField(m, MetadataVT.compiler, false) ||
      !stringField(m, MetadataVT.compilerVersion, false)) return false;
  const nx = vecField(m, MetadataVT.extra, 4, MAX_KEY_VALUES);
  if (nx < 0) return false;
  const xv = vecAt;
  for (let i: u32 = 0; i < <u32>nx; i++) {
    const kv = elemTable(xv, i);
    if (kv == 0 || !stringField(kv, KeyValueVT.key, false) || !stringField(kv, KeyValueVT.value, false)) return false;
  }
  return true;
}

/** Every token id in the [uint] vector field must be < vocab. Returns count or -1. */
function tokenVector(t: u32, slot: i32): i64 {
  const n = vecField(t, slot, 4, NO_MAX);
  if (n < 0) return -1;
  const v = vecAt;
  for (let j: u32 = 0; j < <u32>n; j++) {
    if (!spend(v)) return -1;
    if (u32at(v + 4 + (j << 2)) >= vocab) { fail(VerifyError.bad_conformance, v + 4 + (j << 2)); return -1; }
  }
  return n;
}

function conformance(root: u32): bool {
  const n = vecField(root, ModelVT.conformance, 4, MAX_CONFORMANCE_CASES);
  if (n < 0) return false;
  const cv = vecAt;
  for (let i: u32 = 0; i < <u32>n; i++) {
    const c = elemTable(cv, i);
    if (c == 0 || !stringField(c, ConformanceCaseVT.name, false)) return false;
    const hash = u8Field(c, ConformanceCaseVT.hash, HashKind.fnv1a64);
    const positions = u32Field(c, ConformanceCaseVT.positions, 0);
    if (err != 0) return false;
    if (hash != HashKind.fnv1a64) return fail(VerifyError.bad_enum, c);
    const nt = tokenVector(c, ConformanceCaseVT.tokens);
    if (nt < 0) return false;
    const nh = vecField(c, ConformanceCaseVT.outputHashes, 8, NO_MAX, 8);
    if (nh < 0) return false;
    const na = tokenVector(c, ConformanceCaseVT.argmax);
    if (na < 0) return false;
    if (positions == 0 || <i64>positions > nt || positions > seqLen || nh != <i64>positions ||
        (na != 0 && na != <i64>positions)) {
      return fail(VerifyError.bad_conformance, c);
    }
  }
  return true;
}

/**
 * Verifies the artifact of `length` bytes at address `ptr`. Returns VerifyError.ok (0) or
 * the first problem's code; errorOffset() tells where it was found.
 */
export function verify(ptr: usize, length: u32): i32 {
  base = ptr; len = length; err = 0; errAt = 0; vecAt = 0;
  vocab = 0; seqLen = 0; nTensors = 0; nSlots = 0;
  // Each object is at least 4 bytes, so an honest file needs at most len / 4 visits;
  // twice that plus slack never runs out on a valid artifact.
  budget = (<i64>length >> 1) + 4096;

  if (<u64>ptr + <u64>length > (<u64>memory.size() << 16)) { fail(VerifyError.out_of_bounds, 0); return err; }
  if (length < 8) { fail(VerifyError.too_small, 0); return err; }
  if (u32at(4) != MODEL_IDENTIFIER) { fail(VerifyError.bad_identifier, 4); return err; }
  if ((ptr & (DATA_ALIGN - 1)) != 0) { fail(VerifyError.base_misaligned, 0); return err; }
  const root = u32at(0);
  if (!table(root)) return err;
  // The version before anything else: a future format may mean something else by the rest.
  const version = u32Field(root, ModelVT.formatVersion, 0);
  if (err != 0) return err;
  if (version != FORMAT_VERSION) { fail(VerifyError.bad_version, root); return err; }

  if (config(root) && tensors(root) && program(root) && plan(root) && target(root) &&
      tokenizer(root) && metadata(root) && conformance(root)) {
    return VerifyError.ok;
  }
  return err;
}
