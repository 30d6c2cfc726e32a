// The program interpreter: an artifact's Program (schemas/edgeq.fbs: Program, Op, Slot,
// Ref) executed op by op in plain TypeScript with the integer *reference* kernels
// (runtime/kernels/reference), over an arena laid out exactly as the program's slots say.
//
// It is a third, independent executor of the same semantics: IntTransformer
// (runtime/reference/model.ts) runs the model's forward pass from the QuantModel, the
// runtime (runtime/assembly/ops.ts) runs the program with the AssemblyScript kernels, and
// this runs the program with the reference kernels. Its logits equal both byte for byte;
// because its arena has the runtime's layout, every op's output slot bytes can be compared
// with a traced runtime's (compiler/engines/layers.ts, `edgeq verify --layers`).
//
// One small function per op kind (OPS below), each binding its operands once at
// construction (typed views of the arena and of the artifact's tensors) and returning the
// step function; the operand and params layouts are docs/integer-spec.md §10. An op kind
// without an entry makes the constructor throw UnsupportedOpKind, naming the kind.
import type { ArtifactContents, ArtifactOp, ArtifactSlot, OpKindName } from '../emit/artifact-contents.ts';
import type { DTypeName } from '../emit/dtype.ts';
import { EdgeqError } from '../util/errors.ts';
import { GROUPED_FORMATS } from '../quantize/formats/registry.ts';
import { AttentionScratch, attention } from '../../runtime/kernels/reference/attention.ts';
import {
  ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, INV_QMAX8_E, INV_QMAX8_M, QMAX8,
} from '../../runtime/kernels/reference/constants.ts';
import { embeddingLookup } from '../../runtime/kernels/reference/embedding.ts';
import { gemvQ8 } from '../../runtime/kernels/reference/gemv_q8.ts';
import { gemvLut, lutTables } from '../../runtime/kernels/reference/gemv_lut.ts';
import { quantizeAct } from '../../runtime/kernels/reference/quantize_act.ts';
import { residualAdd } from '../../runtime/kernels/reference/residual.ts';
import { rmsnormQuant } from '../../runtime/kernels/reference/rmsnorm.ts';
import { ropeQ16 } from '../../runtime/kernels/reference/rope.ts';
import { swigluQ16 } from '../../runtime/kernels/reference/silu.ts';

/** The program uses an op kind this interpreter has no function for. */
export class UnsupportedOpKind extends EdgeqError {
  constructor(readonly kind: string, readonly opIndex: number, opName: string) {
    super(`op kind ${kind} is not supported by the program interpreter (op #${opIndex} ${opName}; compiler/engines/program-interpreter.ts)`);
    this.name = 'UnsupportedOpKind';
  }
}

type Elem = Int8Array | Int16Array | Int32Array | Uint8Array;
type ElemCtor = Int8ArrayConstructor | Int16ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;
const VIEW: Record<DTypeName, ElemCtor> = {
  int8: Int8Array, int16: Int16Array, int32: Int32Array, uint8: Uint8Array,
  // Bit-plane and group formats: raw bytes for the kernels that decode them.
  q1: Uint8Array, q2_lut: Uint8Array, q3: Uint8Array, q4_lut: Uint8Array, gse: Uint8Array,
};

/** Step inputs (ProgramInput): token and position. */
interface Step { token: number; position: number }

/** What an op function gets to bind its operands; all checks happen here, once. */
class Operands {
  constructor(private readonly it: ProgramInterpreter, readonly op: ArtifactOp, readonly index: number) {}

  private fail(what: string): never {
    throw new EdgeqError(`program interpreter: op #${this.index} ${this.op.name ?? ''} (${this.op.kind}): ${what}`);
  }

  /** Checks operand and params counts against the kind's layout. */
  counts(nIn: number, nOut: number, nParams: number): this {
    const o = this.op;
    if (o.inputs.length !== nIn || o.outputs.length !== nOut || o.params.length !== nParams) {
      this.fail(`expected ${nIn} inputs, ${nOut} outputs, ${nParams} params; has ${o.inputs.length}, ${o.outputs.length}, ${o.params.length}`);
    }
    return this;
  }

  p(i: number): number { return this.op.params[i]; }

  /** Input i (a tensor or slot) as a typed view of `dtype`. */
  in<T extends Elem>(i: number, dtype: DTypeName): T { return this.view(this.op.inputs[i], `input ${i}`, dtype) as T; }
  /** Output i (a slot) as a typed view of `dtype`. */
  out<T extends Elem>(i: number, dtype: DTypeName): T {
    const r = this.op.outputs[i];
    if (r?.kind !== 'slot') this.fail(`output ${i} must be a slot`);
    return this.view(r, `output ${i}`, dtype) as T;
  }
  /** Input i must be the step input `which`. */
  input(i: number, which: 'token' | 'position'): void {
    const r = this.op.inputs[i];
    if (r?.kind !== 'input' || r.index !== (which === 'token' ? 0 : 1)) this.fail(`input ${i} must be the step input ${which}`);
  }

  private view(r: ArtifactContents['program']['ops'][number]['inputs'][number] | undefined, what: string, dtype: DTypeName): Elem {
    if (!r) this.fail(`${what} is missing`);
    const C = VIEW[dtype];
    if (r.kind === 'slot') {
      const s: ArtifactSlot | undefined = this.it.program.slots[r.index];
      if (!s) this.fail(`${what}: no slot ${r.index}`);
      if (s.dtype !== dtype) this.fail(`${what}: slot ${s.name ?? r.index} is ${s.dtype}, expected ${dtype}`);
      if (s.offset % 16 !== 0 || s.offset + s.size > this.it.arena.byteLength) this.fail(`${what}: slot ${s.name ?? r.index} lies outside the arena`);
      return new C(this.it.arena, s.offset, Math.floor(s.size / C.BYTES_PER_ELEMENT));
    }
    if (r.kind === 'tensor') {
      const t = this.it.contents.tensors[r.index];
      if (!t) this.fail(`${what}: no tensor ${r.index}`);
      if (t.dtype !== dtype) this.fail(`${what}: tensor ${t.name} is ${t.dtype}, expected ${dtype}`);
      let d = t.data;
      // Views need element alignment in the JS buffer; the file aligns data to 16 bytes
      // but the bytes may sit at any offset of their ArrayBuffer.
      if (d.byteOffset % C.BYTES_PER_ELEMENT !== 0) d = d.slice();
      return new C(d.buffer as ArrayBuffer, d.byteOffset, Math.floor(d.length / C.BYTES_PER_ELEMENT));
    }
    return this.fail(`${what} must be a tensor or slot, is a step input`);
  }
}

type OpFn = (o: Operands, step: Step) => () => void;

// gemv and classifier. Scale operands are int32 [4] slots holding (m, e) in elements 0, 1.
const gemv: OpFn = (o) => {
  o.counts(5, 1, 3);
  const x = o.in<Int16Array>(0, 'int16'), sc = o.in<Int32Array>(1, 'int32');
  const w = o.in<Int8Array>(2, 'int8'), wM = o.in<Int16Array>(3, 'int16'), wE = o.in<Int8Array>(4, 'int8');
  const y = o.out<Int32Array>(0, 'int32');
  const n = o.p(0), d = o.p(1), outFrac = o.p(2);
  return () => gemvQ8(y, w, wM, wE, x, sc[0], sc[1], n, d, outFrac);
};

/** One function per op kind (schemas/edgeq.fbs OpKind; layouts in docs/integer-spec.md §10). */
export const OPS: Partial<Record<OpKindName, OpFn>> = {
  embed: (o, step) => {
    o.counts(4, 1, 1);
    const e = o.in<Int8Array>(0, 'int8'), m = o.in<Int16Array>(1, 'int16'), ex = o.in<Int8Array>(2, 'int8');
    o.input(3, 'token');
    const x = o.out<Int32Array>(0, 'int32'), d = o.p(0);
    return () => embeddingLookup(x, e, m, ex, step.token, d);
  },

  rmsnorm: (o) => {
    o.counts(3, 2, 6);
    const x = o.in<Int32Array>(0, 'int32'), g = o.in<Int16Array>(1, 'int16'), u = o.in<Int32Array>(2, 'int32');
    const q = o.out<Int16Array>(0, 'int16'), sc = o.out<Int32Array>(1, 'int32');
    const [n, gainFrac, eps, sqShift, dimM, dimE] = o.op.params;
    return () => rmsnormQuant(q, x, n, g, gainFrac, eps, sqShift, dimM, dimE, u, sc, 0);
  },

  gemv,
  classifier: gemv,

  rope: (o, step) => {
    o.counts(4, 1, 2);
    const v = o.in<Int32Array>(0, 'int32');
    o.input(1, 'position');
    const cos = o.in<Int16Array>(2, 'int16'), sin = o.in<Int16Array>(3, 'int16');
    o.out(0, 'int32'); // the same slot as input 0 (checked by the runtime)
    const n = o.p(0), hs = o.p(1);
    return () => ropeQ16(v, n, hs, cos, sin, step.position);
  },

  kv_store: (o, step) => {
    o.counts(3, 6, 2);
    const k = o.in<Int32Array>(0, 'int32'), v = o.in<Int32Array>(1, 'int32');
    o.input(2, 'position');
    const kc = o.out<Int16Array>(0, 'int16'), kM = o.out<Int16Array>(1, 'int16'), kE = o.out<Int8Array>(2, 'int8');
    const vc = o.out<Int8Array>(3, 'int8'), vM = o.out<Int16Array>(4, 'int16'), vE = o.out<Int8Array>(5, 'int8');
    const nKv = o.p(0), hs = o.p(1), kvD = nKv * hs;
    const sc = new Int32Array(4);
    return () => {
      const row = step.position * kvD, srow = step.position * nKv;
      for (let g = 0; g < nKv; g++) {
        quantizeAct(kc, row + g * hs, k, g * hs, hs, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
        kM[srow + g] = sc[0]; kE[srow + g] = sc[1];
        quantizeAct(vc, row + g * hs, v, g * hs, hs, ACT_FRAC, QMAX8, INV_QMAX8_M, INV_QMAX8_E, sc, 0);
        vM[srow + g] = sc[0]; vE[srow + g] = sc[1];
      }
    };
  },

  attention: (o, step) => {
    o.counts(12, 1, 5);
    const q = o.in<Int32Array>(0, 'int32');
    o.input(1, 'position');
    const kc = o.in<Int16Array>(2, 'int16'), kM = o.in<Int16Array>(3, 'int16'), kE = o.in<Int8Array>(4, 'int8');
    const vc = o.in<Int8Array>(5, 'int8'), vM = o.in<Int16Array>(6, 'int16'), vE = o.in<Int8Array>(7, 'int8');
    const exp2 = o.in<Int16Array>(8, 'int16');
    // The kernel's scratch lives in the program's slots, as on the device.
    const s = Object.assign(Object.create(AttentionScratch.prototype) as AttentionScratch, {
      q12: o.in<Int16Array>(9, 'int16'), scores: o.in<Int32Array>(10, 'int32'), weights: o.in<Int32Array>(11, 'int32'),
      sc: new Int32Array(4),
    });
    const out = o.out<Int32Array>(0, 'int32');
    const [nH, nKv, hs, attM, attE] = o.op.params;
    return () => attention(out, q, step.position, kc, kM, kE, vc, vM, vE, nH, nKv, hs, attM, attE, exp2, s);
  },

  requantize: (o) => {
    o.counts(1, 2, 3);
    const v = o.in<Int32Array>(0, 'int32');
    const [n, frac, qmax] = o.op.params;
    const sc = o.out<Int32Array>(1, 'int32');
    if (qmax === QMAX8) {
      const q = o.out<Int8Array>(0, 'int8');
      return () => quantizeAct(q, 0, v, 0, n, frac, QMAX8, INV_QMAX8_M, INV_QMAX8_E, sc, 0);
    }
    if (qmax !== ACT_QMAX) throw new EdgeqError(`program interpreter: op ${o.op.name ?? ''} (requantize): qmax ${qmax}, expected ${QMAX8} or ${ACT_QMAX}`);
    const q = o.out<Int16Array>(0, 'int16');
    return () => quantizeAct(q, 0, v, 0, n, frac, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
  },

  swiglu: (o) => {
    o.counts(3, 1, 1);
    const h1 = o.in<Int32Array>(0, 'int32'), h3 = o.in<Int32Array>(1, 'int32'), silu = o.in<Int32Array>(2, 'int32');
    o.out(0, 'int32');
    const n = o.p(0);
    return () => swigluQ16(h1, h3, n, silu);
  },

  // Low-bit weights (docs/integer-spec.md §9.2, §10). lut_tables' output is in a format
  // private to each kernel pair (the SIMD tables differ from the scalar ones): see OPAQUE.
  lut_tables: (o) => {
    o.counts(1, 1, 1);
    const x = o.in<Int16Array>(0, 'int16'), t = o.out<Int16Array>(0, 'int16'), n = o.p(0);
    return () => lutTables(t, x, n);
  },

  gemv_lut: (o) => {
    o.counts(6, 1, 5);
    const [n, d, outFrac, bits, gs] = o.op.params;
    const planeType = GROUPED_FORMATS.find((f) => f.bits === bits)?.name;
    if (!planeType) throw new EdgeqError(`program interpreter: op ${o.op.name ?? ''} (gemv_lut): ${bits} bits, expected 1 to 4`);
    const t = o.in<Int16Array>(0, 'int16'), sc = o.in<Int32Array>(1, 'int32');
    const planes = o.in<Uint8Array>(2, planeType), groups = o.in<Uint8Array>(3, 'uint8');
    const wM = o.in<Int16Array>(4, 'int16'), wE = o.in<Int8Array>(5, 'int8');
    const y = o.out<Int32Array>(0, 'int32');
    return () => gemvLut(y, planes, groups, wM, wE, t, sc[0], sc[1], n, d, bits, gs, outFrac);
  },

  residual_add: (o) => {
    o.counts(2, 1, 1);
    const x = o.in<Int32Array>(0, 'int32'), y = o.in<Int32Array>(1, 'int32');
    o.out(0, 'int32');
    const n = o.p(0);
    return () => residualAdd(x, y, n);
  },
};

/**
 * Op kinds whose outputs are an implementation detail of the kernels that consume them
 * (not specified bytes): an executor's bytes there may differ from the reference's without
 * a bug, so comparisons (`--layers`) skip them and a fault shows at the consuming op.
 */
export const OPAQUE: ReadonlySet<OpKindName> = new Set<OpKindName>(['lut_tables']);

/** Op kinds the interpreter can execute. */
export function interpreterKinds(): OpKindName[] { return Object.keys(OPS) as OpKindName[]; }

/**
 * Executes `contents.program` step by step. The arena is zeroed at construction (as a
 * freshly loaded runtime's) and persists across steps (KV cache, logits).
 */
export class ProgramInterpreter {
  readonly contents: ArtifactContents;
  readonly program: ArtifactContents['program'];
  readonly arena: ArrayBuffer;
  readonly arenaBytes: Uint8Array;
  private readonly step: Step = { token: 0, position: 0 };
  private readonly run: Array<() => void>;
  private readonly logitsSlot: ArtifactSlot;

  /** Throws UnsupportedOpKind for an op kind without a function, EdgeqError for a malformed op. */
  constructor(contents: ArtifactContents) {
    this.contents = contents;
    this.program = contents.program;
    this.arena = new ArrayBuffer(this.program.arenaSize);
    this.arenaBytes = new Uint8Array(this.arena);
    this.run = this.program.ops.map((op, i) => {
      const fn = OPS[op.kind];
      if (!fn) throw new UnsupportedOpKind(op.kind, i, op.name ?? `op ${i}`);
      return fn(new Operands(this, op, i), this.step);
    });
    const out = this.program.outputs[0];
    const s = out?.kind === 'slot' ? this.program.slots[out.index] : undefined;
    if (!s || s.dtype !== 'int32' || s.size !== contents.config.vocabSize * 4) {
      throw new EdgeqError('program interpreter: the program\'s output 0 is not an int32 [vocab_size] slot');
    }
    this.logitsSlot = s;
  }

  /** Sets the step inputs; then runOp(0..n-1) in order, or forward() for the whole step. */
  begin(token: number, position: number): void {
    const { vocabSize, seqLen } = this.contents.config;
    if (!Number.isInteger(token) || token < 0 || token >= vocabSize) throw new RangeError(`token ${token} outside vocabulary [0, ${vocabSize})`);
    if (!Number.isInteger(position) || position < 0 || position >= seqLen) throw new RangeError(`position ${position} outside [0, ${seqLen})`);
    this.step.token = token;
    this.step.position = position;
  }

  /** Runs op i of the current step. */
  runOp(i: number): void { this.run[i](); }

  /** One step; `afterOp(i)` (optional) is called after each op. Returns the logits view. */
  forward(token: number, position: number, afterOp?: (i: number) => void): Int32Array {
    this.begin(token, position);
    for (let i = 0; i < this.run.length; i++) {
      this.run[i]();
      afterOp?.(i);
    }
    return this.logits();
  }

  /** The logits of the last step (a view of the arena). */
  logits(): Int32Array {
    return new Int32Array(this.arena, this.logitsSlot.offset, this.contents.config.vocabSize);
  }

  /** The bytes of slot `index` (a view of the arena). */
  slotBytes(index: number): Uint8Array {
    const s = this.program.slots[index];
    return new Uint8Array(this.arena, s.offset, s.size);
  }

  /**
   * The slots op i writes, with their bytes (views of the arena); none for OPAQUE kinds
   * (their bytes are not specified).
   */
  opOutputs(i: number): Array<{ slot: number; bytes: Uint8Array }> {
    if (OPAQUE.has(this.program.ops[i].kind)) return [];
    return this.program.ops[i].outputs.filter((r) => r.kind === 'slot').map((r) => ({ slot: r.index, bytes: this.slotBytes(r.index) }));
  }
}
