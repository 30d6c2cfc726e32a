// Binding one op's operands for the program interpreter (compiler/engines/
// program-interpreter.ts): typed views of the arena's slots and the artifact's tensors,
// each checked once (count, kind, dtype, inside the arena) when the program is loaded.
// Every kind's `interpret` (compiler/ops/kinds) binds through this.
import type { ArtifactContents, ArtifactOp, ArtifactRef, ArtifactSlot } from '../emit/artifact-contents.ts';
import type { DTypeName } from '../emit/dtype.ts';
import { EdgeqError } from '../util/errors.ts';

export type Elem = Int8Array | Int16Array | Int32Array | Uint8Array;
type ElemCtor = Int8ArrayConstructor | Int16ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;
/** The typed views of the element dtypes; every other dtype (a weight format's blocks, gse) is raw bytes for the kernels that decode it. */
const VIEW: Partial<Record<DTypeName, ElemCtor>> = { int8: Int8Array, int16: Int16Array, int32: Int32Array };

/** Step inputs (ProgramInput): token and position. */
export interface Step { token: number; position: number }

/** What operands are bound against: the artifact, its program and the arena. */
export interface OperandHost {
  readonly contents: ArtifactContents;
  readonly program: ArtifactContents['program'];
  readonly arena: ArrayBuffer;
}

export class Operands {
  constructor(private readonly host: OperandHost, readonly op: ArtifactOp, readonly index: number) {}

  fail(what: string): never {
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

  /** The model's seq_len (S: rows of the KV cache slots). */
  get seqLen(): number { return this.host.contents.config.seqLen; }

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

  private view(r: ArtifactRef | undefined, what: string, dtype: DTypeName): Elem {
    if (!r) this.fail(`${what} is missing`);
    const C = VIEW[dtype] ?? Uint8Array;
    if (r.kind === 'slot') {
      const s: ArtifactSlot | undefined = this.host.program.slots[r.index];
      if (!s) this.fail(`${what}: no slot ${r.index}`);
      if (s.dtype !== dtype) this.fail(`${what}: slot ${s.name ?? r.index} is ${s.dtype}, expected ${dtype}`);
      if (s.offset % 16 !== 0 || s.offset + s.size > this.host.arena.byteLength) this.fail(`${what}: slot ${s.name ?? r.index} lies outside the arena`);
      return new C(this.host.arena, s.offset, Math.floor(s.size / C.BYTES_PER_ELEMENT));
    }
    if (r.kind === 'tensor') {
      const t = this.host.contents.tensors[r.index];
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
