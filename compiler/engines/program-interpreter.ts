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
// Each op kind's `interpret` (compiler/ops/kinds, listed in compiler/ops/registry.ts)
// binds its operands once at construction (typed views of the arena and of the artifact's
// tensors, compiler/ops/operands.ts) and returns the step function; params are checked
// against the kind's ranges first. An op kind without a definition makes the constructor
// throw UnsupportedOpKind, naming the kind.
import type { ArtifactContents, ArtifactSlot, OpKindName } from '../emit/artifact-contents.ts';
import { EdgeqError } from '../util/errors.ts';
import type { Interpret } from '../ops/op-def.ts';
import { Operands, type Step } from '../ops/operands.ts';
import { OP_DEFS, checkParams, findOp } from '../ops/registry.ts';

/** The program uses an op kind this interpreter has no function for. */
export class UnsupportedOpKind extends EdgeqError {
  constructor(readonly kind: string, readonly opIndex: number, opName: string) {
    super(`op kind ${kind} is not supported by the program interpreter (op #${opIndex} ${opName}; compiler/engines/program-interpreter.ts)`);
    this.name = 'UnsupportedOpKind';
  }
}

/** Each defined kind's binding (compiler/ops/kinds; layouts in docs/integer-spec.md §10). */
export const OPS: Partial<Record<OpKindName, Interpret>> = Object.fromEntries(OP_DEFS.map((d) => [d.kind, d.interpret]));

/**
 * Op kinds whose outputs are an implementation detail of the kernels that consume them
 * (not specified bytes): an executor's bytes there may differ from the reference's without
 * a bug, so comparisons (`--layers`) skip them and a fault shows at the consuming op.
 */
export const OPAQUE: ReadonlySet<OpKindName> = new Set<OpKindName>(OP_DEFS.filter((d) => d.opaque).map((d) => d.kind));

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
      const def = findOp(op.kind);
      if (!def) throw new UnsupportedOpKind(op.kind, i, op.name ?? `op ${i}`);
      const operands = new Operands(this, op, i);
      const run = def.interpret(operands, this.step);
      // Params out of their ranges (the device refuses the same at load).
      const why = checkParams(op);
      if (why) operands.fail(why);
      return run;
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
