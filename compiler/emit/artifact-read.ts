// Reading model.edgeq back into plain values, for tools and tests. Everything is checked:
// header, identifier and version first (with the byte and what was expected), then every
// read goes through a bounds-checked buffer, then the contents are validated by the same
// rules the writer applies. Tensor data are views into `bytes` (no copy of the weights).
import * as flatbuffers from 'flatbuffers';
import * as fb from '../../schemas/generated/edgeq/fb.ts';
import type {
  ArtifactContents, ArtifactQuant, ArtifactRef, ArtifactSlot, ArtifactTensor, OpKindName,
} from './artifact-contents.ts';
import { dtypeName, type DTypeName } from './dtype.ts';
import { ADAPTER_IDENTIFIER, ARTIFACT_IDENTIFIER, DATA_ALIGN, FORMAT_VERSION, VERSION_VTABLE_SLOT } from './format.ts';
import { validateContents } from './validate.ts';
import { EdgeqError } from '../util/errors.ts';
import { VERSION } from '../version.ts';

/**
 * A ByteBuffer that refuses to read outside the file (instead of returning undefined) and
 * checks the FlatBuffers structure it walks through: table and vtable alignment and
 * extent, vtable sizes, string terminators. The same structural rules as the device
 * verifier, as far as the generic accessors can know them (they don't know field sizes).
 */
export class CheckedBuffer extends flatbuffers.ByteBuffer {
  /** `kind` names the file type in messages ("corrupt artifact", "corrupt adapter"). */
  constructor(private readonly data: Uint8Array, private readonly file: string, private readonly kind = 'artifact') { super(data); }

  need(offset: number, n: number, what = 'data'): void {
    if (Number.isInteger(offset) && Number.isInteger(n) && offset >= 0 && n >= 0 && offset + n <= this.data.length) return;
    throw new EdgeqError(
      `corrupt ${this.kind}: ${what} (${n} bytes at byte ${offset}) reaches outside the file (${this.data.length} bytes)`,
      { file: this.file, offset: Math.max(0, Math.min(offset, this.data.length)) },
    );
  }
  /**
   * The field __offset() found last and where its table ends. Generated accessors read a
   * field right after looking it up, so that read is checked to end inside the table
   * (__offset itself cannot know the field's size).
   */
  private field = -1;
  private fieldEnd = 0;
  private inField(o: number, n: number): void {
    if (o === this.field && o + n > this.fieldEnd) this.fail(`field at byte ${o} runs past the end of its table`, o);
    this.field = -1;
  }
  override readUint8(o: number): number { this.need(o, 1); this.inField(o, 1); return super.readUint8(o); }
  // Every scalar in a well-formed buffer is aligned to its size (tables, fields, vector
  // elements, struct members), so a misaligned read means a corrupt offset.
  override readUint16(o: number): number {
    this.need(o, 2);
    if (o % 2 !== 0) this.fail(`2-byte value at byte ${o} is misaligned`, o);
    this.inField(o, 2);
    return super.readUint16(o);
  }
  override readInt32(o: number): number {
    this.need(o, 4);
    if (o % 4 !== 0) this.fail(`4-byte value at byte ${o} is misaligned`, o);
    this.inField(o, 4);
    return super.readInt32(o);
  }
  /** Where the elements of the vector whose length was read last begin. */
  lastVectorData = 0;
  override __vector_len(offset: number): number {
    const n = super.__vector_len(offset);
    this.lastVectorData = offset + this.readInt32(offset) + 4;
    return n;
  }

  override __offset(table: number, slot: number): number {
    if (table % 4 !== 0) this.fail(`table at byte ${table} is not 4-byte aligned`, table);
    const vt = table - this.readInt32(table);
    if (vt % 2 !== 0) this.fail(`vtable at byte ${vt} is not 2-byte aligned`, vt);
    const vsize = this.readUint16(vt), tsize = this.readUint16(vt + 2);
    if (vsize < 4 || vsize % 2 !== 0 || tsize < 4) this.fail(`malformed vtable at byte ${vt} (sizes ${vsize}, ${tsize})`, vt);
    this.need(vt, vsize, 'vtable');
    this.need(table, tsize, 'table');
    const fo = slot < vsize ? this.readUint16(vt + slot) : 0;
    if (fo !== 0 && (fo < 4 || fo >= tsize)) this.fail(`field ${(slot - 4) / 2} of the table at byte ${table} lies outside it`, vt + slot);
    if (fo !== 0) { this.field = table + fo; this.fieldEnd = table + tsize; }
    return fo;
  }
  override __vector(offset: number): number {
    const v = offset + this.readInt32(offset);
    if (v % 4 !== 0) this.fail(`vector at byte ${v} is not 4-byte aligned`, v);
    this.readInt32(v); // its length word is inside
    return v + 4;
  }
  override __string(offset: number, enc?: flatbuffers.Encoding): string | Uint8Array {
    const at = offset + this.readInt32(offset);
    if (at % 4 !== 0) this.fail(`string at byte ${at} is not 4-byte aligned`, at);
    const n = this.readInt32(at);
    this.need(at + 4, n + 1, 'string'); // + the NUL terminator
    if (this.data[at + 4 + n] !== 0) this.fail(`string at byte ${at} is not NUL-terminated`, at + 4 + n);
    return super.__string(offset, enc);
  }
  fail(message: string, offset: number): never {
    throw new EdgeqError(`corrupt ${this.kind}: ${message}`, { file: this.file, offset });
  }
}

/** Reads and checks an artifact. `file` names it in error messages. */
export function readArtifact(bytes: Uint8Array, file = '<artifact>'): ArtifactContents {
  if (bytes.length < 8) {
    throw new EdgeqError(`too short for an edgeq artifact: ${bytes.length} bytes, expected at least 8`, { file, offset: 0 });
  }
  const ident = String.fromCharCode(...bytes.subarray(4, 8));
  if (ident !== ARTIFACT_IDENTIFIER) {
    const hint = ident === ADAPTER_IDENTIFIER ? 'this is a LoRA adapter, not a model' : 'not an edgeq model artifact';
    throw new EdgeqError(
      `expected file identifier ${JSON.stringify(ARTIFACT_IDENTIFIER)} at byte 4, found ${JSON.stringify(ident)} (${hint})`,
      { file, offset: 4 },
    );
  }
  const bb: CheckedBuffer = new CheckedBuffer(bytes, file);
  const model = fb.Model.getRootAsModel(bb);
  const vo = bb.__offset(model.bb_pos, VERSION_VTABLE_SLOT);
  const version = vo ? bb.readUint32(model.bb_pos + vo) : 0;
  if (version !== FORMAT_VERSION) {
    throw new EdgeqError(
      `format version ${version}${vo ? '' : ' (field missing)'}, expected ${FORMAT_VERSION}: ` +
        `this edgeq ${VERSION} reads format version ${FORMAT_VERSION} only`,
      { file, offset: vo ? model.bb_pos + vo : model.bb_pos },
    );
  }

  // A vector must fit in the file before we iterate it (so a corrupt length cannot make
  // us loop 2^31 times). `n` always comes from an xLength() call evaluated just before,
  // which recorded where that vector's elements start.
  const count = (n: number, elemSize: number, what: string, at: number, align = 4): number => {
    // (flatbuffers reads lengths as int32: a length of 2^31 or more comes back negative.)
    if (n < 0 || (n > 0 && bb.lastVectorData + n * elemSize > bytes.length)) {
      bb.fail(`${what}: ${n} entries of ${elemSize} bytes from byte ${bb.lastVectorData} pass the end of the file`, at);
    }
    if (n > 0 && bb.lastVectorData % align !== 0) bb.fail(`${what}: elements at byte ${bb.lastVectorData} are not ${align}-byte aligned`, at);
    return n;
  };
  const list = <T>(n: number, elemSize: number, what: string, at: number, get: (i: number) => T, align = 4): T[] =>
    Array.from({ length: count(n, elemSize, what, at, align) }, (_, i) => get(i));
  const str = (s: string | null) => s ?? '';
  const dtype = (v: number, what: string, at: number): DTypeName =>
    dtypeName(v) ?? bb.fail(`${what}: unknown dtype ${v}`, at);

  const cfg = model.config() ?? bb.fail('the model has no config', model.bb_pos);
  const tensors = list(model.tensorsLength(), 4, 'tensors', model.bb_pos, (i): ArtifactTensor => {
    const t = model.tensors(i)!;
    const data = tensorData(bytes, bb, t, i);
    const quant = t.quant();
    return {
      name: str(t.name()),
      dtype: dtype(t.dtype(), `tensor ${i}`, t.bb_pos),
      shape: list(t.shapeLength(), 4, `tensor ${i} shape`, t.bb_pos, (j) => t.shape(j)!),
      data,
      ...(quant ? { quant: readQuant(quant, list) } : {}),
    };
  });

  const p = model.program() ?? bb.fail('the model has no program', model.bb_pos);
  const refs = (n: number, get: (j: number) => fb.Ref | null, at: number): ArtifactRef[] =>
    list(n, fb.Ref.sizeOf(), 'operands', at, (j) => {
      const r = get(j)!;
      const kind = fb.RefKind[r.kind()] as ArtifactRef['kind'] | 'invalid' | undefined;
      if (kind === undefined || kind === 'invalid') bb.fail(`unknown operand kind ${r.kind()}`, r.bb_pos);
      return { kind, index: r.index() };
    });
  const program = {
    arenaSize: p.arenaSize(),
    slots: list(p.slotsLength(), 4, 'slots', p.bb_pos, (i): ArtifactSlot => {
      const s = p.slots(i)!;
      const name = s.name();
      return {
        ...(name !== null ? { name } : {}),
        dtype: dtype(s.dtype(), `slot ${i}`, s.bb_pos),
        shape: list(s.shapeLength(), 4, `slot ${i} shape`, s.bb_pos, (j) => s.shape(j)!),
        offset: s.offset(),
        size: s.size(),
      };
    }),
    ops: list(p.opsLength(), 4, 'ops', p.bb_pos, (i) => {
      const op = p.ops(i)!;
      const kind = fb.OpKind[op.kind()] as OpKindName | 'invalid' | undefined;
      if (kind === undefined || kind === 'invalid') bb.fail(`op ${i}: unknown kind ${op.kind()}`, op.bb_pos);
      const name = op.name();
      return {
        kind,
        inputs: refs(op.inputsLength(), (j) => op.inputs(j), op.bb_pos),
        outputs: refs(op.outputsLength(), (j) => op.outputs(j), op.bb_pos),
        params: list(op.paramsLength(), 4, `op ${i} params`, op.bb_pos, (j) => op.params(j)!),
        ...(name !== null ? { name } : {}),
      };
    }),
    outputs: refs(p.outputsLength(), (j) => p.outputs(j), p.bb_pos),
  };

  const plan = model.plan();
  const planBlocks = plan ? list(plan.blocksLength(), 4, 'plan blocks', plan.bb_pos, (i) => {
    const b = plan.blocks(i)!;
    const rule = b.rule(), entropy = b.entropy();
    return {
      block: b.block(), bits: b.bits(), groupSize: b.groupSize(),
      format: dtype(b.format(), `plan block ${i}`, b.bb_pos),
      ...(entropy !== null ? { entropy } : {}),
      ...(rule !== null ? { rule } : {}),
      matrices: list(b.matricesLength(), 4, 'plan matrices', b.bb_pos, (j) => {
        const m = b.matrices(j)!;
        const rule = m.rule(), entropy = m.entropy();
        return {
          name: str(m.name()), bits: m.bits(), groupSize: m.groupSize(),
          format: dtype(m.format(), `plan block ${i} matrix ${j}`, m.bb_pos),
          ...(entropy !== null ? { entropy } : {}),
          ...(rule !== null ? { rule } : {}),
        };
      }),
    };
  }) : [];

  const tk = model.tokenizer();
  const target = model.target();
  const md = model.metadata();
  const a: ArtifactContents = {
    config: {
      dim: cfg.dim(), hiddenDim: cfg.hiddenDim(), nLayers: cfg.nLayers(), nHeads: cfg.nHeads(),
      nKvHeads: cfg.nKvHeads(), vocabSize: cfg.vocabSize(), seqLen: cfg.seqLen(),
      sharedClassifier: cfg.sharedClassifier(), headSize: cfg.headSize(),
      ...(cfg.ropeTheta() !== null ? { ropeTheta: cfg.ropeTheta()! } : {}),
      ...(cfg.rmsNormEps() !== null ? { rmsNormEps: cfg.rmsNormEps()! } : {}),
      ...(cfg.ropeFreqFactorsLength() > 0 ? { ropeFreqFactors: list(cfg.ropeFreqFactorsLength(), 4, 'config rope_freq_factors', cfg.bb_pos, (i) => cfg.ropeFreqFactors(i)!) } : {}),
    },
    tensors,
    program,
    plan: { method: str(plan?.method() ?? null), blocks: planBlocks, ...(plan?.kvCache() ? { kvCache: plan.kvCache()! } : {}) },
    target: { name: str(target?.name() ?? null), simd: target?.simd() ?? false },
    ...(tk ? {
      tokenizer: {
        pieces: list(tk.piecesLength(), 4, 'tokenizer pieces', tk.bb_pos,
          (i) => (tk.pieces(i, flatbuffers.Encoding.UTF8_BYTES) as Uint8Array).slice()),
        scores: list(tk.scoresLength(), 4, 'tokenizer scores', tk.bb_pos, (i) => tk.scores(i)!),
        scoreFracBits: tk.scoreFracBits(),
        hostScores: list(tk.hostScoresLength(), 4, 'tokenizer scores', tk.bb_pos, (i) => tk.hostScores(i)!),
        maxTokenLength: tk.maxTokenLength(),
        bosId: tk.bosId(),
        eosId: tk.eosId(),
        ...(tk.kind() !== fb.TokenizerKind.llama2c ? {
          general: {
            kind: tk.kind() === fb.TokenizerKind.spm ? 'spm' as const
              : tk.kind() === fb.TokenizerKind.bpe ? 'bpe' as const
              : bb.fail(`tokenizer kind ${tk.kind()} is unknown (known: llama2c, spm, bpe)`, tk.bb_pos),
            texts: list(tk.textsLength(), 4, 'tokenizer texts', tk.bb_pos, (i) => tk.texts(i)),
            tokenTypes: list(tk.tokenTypesLength(), 1, 'tokenizer token types', tk.bb_pos, (i) => tk.tokenTypes(i)!, 1),
            merges: list(tk.mergesLength(), 4, 'tokenizer merges', tk.bb_pos, (i) => tk.merges(i)),
            prePatterns: list(tk.prePatternsLength(), 4, 'tokenizer pre-tokenizer patterns', tk.bb_pos, (i) => tk.prePatterns(i)),
            preName: str(tk.preName()),
            options: tk.options(),
          },
        } : {}),
      },
    } : {}),
    metadata: {
      sourceSha256: md ? Uint8Array.from(list(md.sourceSha256Length(), 1, 'sha256', md.bb_pos, (i) => md.sourceSha256(i)!)) : new Uint8Array(0),
      sourceName: str(md?.sourceName() ?? null),
      compiler: str(md?.compiler() ?? null),
      compilerVersion: str(md?.compilerVersion() ?? null),
      extra: md ? list(md.extraLength(), 4, 'metadata', md.bb_pos, (i): [string, string] => {
        const kv = md.extra(i)!;
        return [str(kv.key()), str(kv.value())];
      }) : [],
    },
    conformance: list(model.conformanceLength(), 4, 'conformance cases', model.bb_pos, (i) => {
      const k = model.conformance(i)!;
      if (k.hash() !== fb.HashKind.fnv1a64) bb.fail(`conformance case ${i}: unknown hash kind ${k.hash()}`, k.bb_pos);
      return {
        name: str(k.name()),
        tokens: list(k.tokensLength(), 4, 'conformance tokens', k.bb_pos, (j) => k.tokens(j)!),
        positions: k.positions(),
        outputHashes: list(k.outputHashesLength(), 8, 'conformance hashes', k.bb_pos, (j) => k.outputHashes(j)!, 8),
        argmax: list(k.argmaxLength(), 4, 'conformance argmax', k.bb_pos, (j) => k.argmax(j)!),
      };
    }),
  };
  validateContents(a, file);
  return a;
}

/** The tensor's data as a view into `bytes`, checked to lie inside it and be aligned. */
function tensorData(bytes: Uint8Array, bb: CheckedBuffer, t: fb.Tensor, i: number): Uint8Array {
  const n = t.dataLength(); // reads the offset and length words through the checked buffer
  let view: Uint8Array | null;
  try {
    view = t.dataArray();
  } catch (e) {
    if (e instanceof EdgeqError) throw e;
    return bb.fail(`tensor ${i} data (${n} bytes) reaches outside the file`, t.bb_pos); // RangeError
  }
  if (view === null) return bb.fail(`tensor ${i} has no data`, t.bb_pos);
  // dataArray() can view bytes past `bytes` when it shares a larger ArrayBuffer: check.
  const start = view.byteOffset - bytes.byteOffset;
  bb.need(start, n, `tensor ${i} data`);
  if (start % DATA_ALIGN !== 0) {
    bb.fail(`tensor ${i} data starts at byte ${start}, expected a multiple of ${DATA_ALIGN}`, start);
  }
  return view;
}

type ListFn = <T>(n: number, elemSize: number, what: string, at: number, get: (i: number) => T) => T[];

function readQuant(q: fb.Quant, list: ListFn): ArtifactQuant {
  const out: ArtifactQuant = {};
  const ints = (n: number, get: (j: number) => number | null) => list(n, 4, 'quant', q.bb_pos, (j) => get(j)!);
  if (q.multipliersLength()) out.multipliers = ints(q.multipliersLength(), (j) => q.multipliers(j));
  if (q.shiftsLength()) out.shifts = ints(q.shiftsLength(), (j) => q.shifts(j));
  if (q.zeroPoint()) out.zeroPoint = q.zeroPoint();
  if (q.groupSize()) out.groupSize = q.groupSize();
  if (q.paramsLength()) out.params = ints(q.paramsLength(), (j) => q.params(j));
  if (q.scalesTensor() !== -1) out.scalesTensor = q.scalesTensor();
  if (q.hostScalesLength()) out.hostScales = ints(q.hostScalesLength(), (j) => q.hostScales(j));
  return out;
}
