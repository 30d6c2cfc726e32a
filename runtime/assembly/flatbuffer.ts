// In-place reader of a model.edgeq that lives in linear memory at `base`.
//
// Nothing is copied: accessors return addresses (and lengths) inside the artifact, so
// kernels read weights where they lie. Nothing is checked either: every function here is
// safe only on an artifact that verify() (verify.ts) accepted, which proves that every
// offset, vtable, vector and reference these accessors follow stays inside the buffer.
//
// Conventions: a *table*, *vector* or *string* is the absolute address of the object
// (a vector's/string's address is its u32 length word; elements follow). 0 means
// "absent". Vtable slots and struct layouts come from generated/schema.ts.
// Callers keep indices below the matching count (tensorCount, opInputCount, ...) and check
// optional tables (tokenizer(), tensorQuant()) for 0 before reading through them; config
// and program are required, so verified artifacts always have them.
import {
  ConformanceCaseVT, ModelConfigVT, ModelVT, OpVT, ProgramVT, QuantVT, RefLayout, SlotVT,
  TensorVT, TokenizerVT,
} from "./generated/schema";

// ---- FlatBuffers primitives ----------------------------------------------------------

// @ts-ignore: decorator
@inline export function rootTable(base: usize): usize {
  return base + <usize>load<u32>(base);
}

/** Address of field `slot` of `table`, or 0 when the field is absent (default value). */
export function fieldPtr(table: usize, slot: i32): usize {
  // The vtable sits at table - soffset; soffset is signed.
  const vt = table - <usize>load<i32>(table);
  if (<u32>slot >= <u32>load<u16>(vt)) return 0;
  const off = <usize>load<u16>(vt + <usize>slot);
  return off != 0 ? table + off : 0;
}

export function fieldU8(table: usize, slot: i32, def: u32): u32 {
  const p = fieldPtr(table, slot);
  return p != 0 ? <u32>load<u8>(p) : def;
}

export function fieldU16(table: usize, slot: i32, def: u32): u32 {
  const p = fieldPtr(table, slot);
  return p != 0 ? <u32>load<u16>(p) : def;
}

export function fieldU32(table: usize, slot: i32, def: u32): u32 {
  const p = fieldPtr(table, slot);
  return p != 0 ? load<u32>(p) : def;
}

export function fieldI32(table: usize, slot: i32, def: i32): i32 {
  const p = fieldPtr(table, slot);
  return p != 0 ? load<i32>(p) : def;
}

/** The table, vector or string a uoffset field points to, or 0. */
export function fieldRef(table: usize, slot: i32): usize {
  const p = fieldPtr(table, slot);
  return p != 0 ? p + <usize>load<u32>(p) : 0;
}

// @ts-ignore: decorator
@inline export function vecLen(vec: usize): u32 {
  return vec != 0 ? load<u32>(vec) : 0;
}

/** Address of the first element. */
// @ts-ignore: decorator
@inline export function vecData(vec: usize): usize {
  return vec + 4;
}

/** Element i of a vector of tables (or strings). */
export function vecRef(vec: usize, i: u32): usize {
  const p = vec + 4 + (<usize>i << 2);
  return p + <usize>load<u32>(p);
}

export function vecU32(vec: usize, i: u32): u32 {
  return load<u32>(vec + 4 + (<usize>i << 2));
}

export function vecI32(vec: usize, i: u32): i32 {
  return load<i32>(vec + 4 + (<usize>i << 2));
}

// ---- the model -----------------------------------------------------------------------

export function modelConfig(base: usize): usize {
  return fieldRef(rootTable(base), ModelVT.config);
}

/** A ModelConfig field by its ModelConfigVT slot, e.g. configU32(base, ModelConfigVT.dim). */
export function configU32(base: usize, slot: i32): u32 {
  return fieldU32(modelConfig(base), slot, 0);
}

export function sharedClassifier(base: usize): bool {
  return fieldU8(modelConfig(base), ModelConfigVT.sharedClassifier, 0) != 0;
}

export function tensorCount(base: usize): u32 {
  return vecLen(fieldRef(rootTable(base), ModelVT.tensors));
}

export function tensorAt(base: usize, i: u32): usize {
  return vecRef(fieldRef(rootTable(base), ModelVT.tensors), i);
}

export function tensorDType(t: usize): u32 {
  return fieldU8(t, TensorVT.dtype, 0);
}

export function tensorRank(t: usize): u32 {
  return vecLen(fieldRef(t, TensorVT.shape));
}

export function tensorDim(t: usize, i: u32): u32 {
  return vecU32(fieldRef(t, TensorVT.shape), i);
}

/** Address of the tensor's first data byte (16-byte aligned). */
export function tensorData(t: usize): usize {
  return vecData(fieldRef(t, TensorVT.data));
}

export function tensorDataLen(t: usize): u32 {
  return vecLen(fieldRef(t, TensorVT.data));
}

/** The tensor's Quant table, or 0. */
export function tensorQuant(t: usize): usize {
  return fieldRef(t, TensorVT.quant);
}

/** Quant vectors ([int]): the vector address, 0 when absent. Use vecLen/vecI32. */
export function quantMultipliers(q: usize): usize { return q != 0 ? fieldRef(q, QuantVT.multipliers) : 0; }
export function quantShifts(q: usize): usize { return q != 0 ? fieldRef(q, QuantVT.shifts) : 0; }
export function quantParams(q: usize): usize { return q != 0 ? fieldRef(q, QuantVT.params) : 0; }
export function quantZeroPoint(q: usize): i32 { return q != 0 ? fieldI32(q, QuantVT.zeroPoint, 0) : 0; }
export function quantGroupSize(q: usize): u32 { return q != 0 ? fieldU32(q, QuantVT.groupSize, 0) : 0; }
export function quantScalesTensor(q: usize): i32 { return q != 0 ? fieldI32(q, QuantVT.scalesTensor, -1) : -1; }

// ---- the program ---------------------------------------------------------------------

export function program(base: usize): usize {
  return fieldRef(rootTable(base), ModelVT.program);
}

export function arenaSize(base: usize): u32 {
  return fieldU32(program(base), ProgramVT.arenaSize, 0);
}

export function slotCount(base: usize): u32 {
  return vecLen(fieldRef(program(base), ProgramVT.slots));
}

export function slotAt(base: usize, i: u32): usize {
  return vecRef(fieldRef(program(base), ProgramVT.slots), i);
}

export function slotDType(s: usize): u32 { return fieldU8(s, SlotVT.dtype, 0); }
export function slotOffset(s: usize): u32 { return fieldU32(s, SlotVT.offset, 0); }
export function slotSize(s: usize): u32 { return fieldU32(s, SlotVT.size, 0); }

export function opCount(base: usize): u32 {
  return vecLen(fieldRef(program(base), ProgramVT.ops));
}

export function opAt(base: usize, i: u32): usize {
  return vecRef(fieldRef(program(base), ProgramVT.ops), i);
}

export function opKind(op: usize): u32 { return fieldU16(op, OpVT.kind, 0); }
export function opInputCount(op: usize): u32 { return vecLen(fieldRef(op, OpVT.inputs)); }
export function opOutputCount(op: usize): u32 { return vecLen(fieldRef(op, OpVT.outputs)); }

/** Address of input i of an op (a Ref struct: refKind/refIndex). */
export function opInput(op: usize, i: u32): usize {
  return vecData(fieldRef(op, OpVT.inputs)) + <usize>i * RefLayout.SIZE;
}

export function opOutput(op: usize, i: u32): usize {
  return vecData(fieldRef(op, OpVT.outputs)) + <usize>i * RefLayout.SIZE;
}

export function opParamCount(op: usize): u32 { return vecLen(fieldRef(op, OpVT.params)); }
export function opParam(op: usize, i: u32): i32 { return vecI32(fieldRef(op, OpVT.params), i); }

export function programOutputCount(base: usize): u32 {
  return vecLen(fieldRef(program(base), ProgramVT.outputs));
}

export function programOutput(base: usize, i: u32): usize {
  return vecData(fieldRef(program(base), ProgramVT.outputs)) + <usize>i * RefLayout.SIZE;
}

export function refKind(ref: usize): u32 { return <u32>load<u8>(ref + RefLayout.kind); }
export function refIndex(ref: usize): u32 { return load<u32>(ref + RefLayout.index); }

// ---- tokenizer and conformance vectors -----------------------------------------------

export function tokenizer(base: usize): usize {
  return fieldRef(rootTable(base), ModelVT.tokenizer);
}

/** Piece i of the tokenizer as a string address (length word, then bytes). */
export function tokenPiece(base: usize, i: u32): usize {
  return vecRef(fieldRef(tokenizer(base), TokenizerVT.pieces), i);
}

export function conformanceCount(base: usize): u32 {
  return vecLen(fieldRef(rootTable(base), ModelVT.conformance));
}

export function conformanceAt(base: usize, i: u32): usize {
  return vecRef(fieldRef(rootTable(base), ModelVT.conformance), i);
}

export function casePositions(c: usize): u32 { return fieldU32(c, ConformanceCaseVT.positions, 0); }
export function caseToken(c: usize, p: u32): u32 { return vecU32(fieldRef(c, ConformanceCaseVT.tokens), p); }
export function caseHash(c: usize, p: u32): u64 { return load<u64>(vecData(fieldRef(c, ConformanceCaseVT.outputHashes)) + (<usize>p << 3)); }
