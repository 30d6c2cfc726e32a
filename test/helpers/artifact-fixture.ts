// A small, complete, valid artifact for tests of the writer, reader and device verifier:
// every table present, every dtype family used, seeded pseudo-random bytes.
import type { ArtifactContents, ArtifactTensor } from '../../compiler/emit/artifact-contents.ts';
import { tensorBytes, type DTypeName } from '../../compiler/emit/dtype.ts';
import { compileAssemblyScript } from '../../compiler/codegen/asc.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './models.ts';

/** xorshift32: deterministic bytes for a seed. */
export function seededBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const tensor = (name: string, dtype: DTypeName, shape: number[], seed: number, quant?: ArtifactTensor['quant']): ArtifactTensor => ({
  name, dtype, shape, data: seededBytes(tensorBytes(dtype, shape, quant?.groupSize ?? 0), seed), ...(quant ? { quant } : {}),
});

export function fixtureContents(): ArtifactContents {
  const dim = 16, hidden = 32, vocab = 8;
  return {
    config: { dim, hiddenDim: hidden, nLayers: 1, nHeads: 2, nKvHeads: 1, vocabSize: vocab, seqLen: 8, sharedClassifier: true, headSize: 8 },
    tensors: [
      tensor('tok_embeddings', 'int8', [vocab, dim], 1, { multipliers: [1 << 30], shifts: [7] }),
      tensor('blocks.0.rms_att', 'int16', [dim], 2),
      tensor('blocks.0.wq', 'int8', [dim, dim], 3, {
        multipliers: Array.from({ length: dim }, (_, i) => 1000 + i), shifts: Array(dim).fill(12), zeroPoint: -3,
        hostScales: Array.from({ length: dim }, (_, i) => (i + 1) / 64), // exact in float32
      }),
      // 13 columns in one padded group of 32 (a LUT tensor's size depends on its group size).
      tensor('blocks.0.w1', 'q4_lut', [hidden, 13], 4, { groupSize: 32, params: [4, 32] }),
      tensor('blocks.0.w2', 'q3', [dim, hidden], 5),
      tensor('rope.cos', 'int32', [8, 4], 6),
      tensor('lora.scratch', 'gse', [4, 8], 7, { scalesTensor: 7, groupSize: 8 }),
      tensor('lora.scratch.exponents', 'int8', [4], 8),
      tensor('blocks.0.w3', 'q2_lut', [3, 5, 9], 9),
      tensor('signs', 'q1', [7], 10),
      tensor('bytes', 'uint8', [5], 11),
    ],
    program: {
      arenaSize: 256,
      slots: [
        { name: 'x', dtype: 'int8', shape: [dim], offset: 0, size: 16 },
        { name: 'h', dtype: 'int32', shape: [dim], offset: 16, size: 64 },
        { name: 'logits', dtype: 'int32', shape: [vocab], offset: 80, size: 32 },
        { dtype: 'int16', shape: [2, 8], offset: 112, size: 32 },
      ],
      ops: [
        { kind: 'embed', inputs: [{ kind: 'tensor', index: 0 }, { kind: 'input', index: 0 }], outputs: [{ kind: 'slot', index: 0 }], params: [], name: 'embed' },
        { kind: 'gemv', inputs: [{ kind: 'slot', index: 0 }, { kind: 'tensor', index: 2 }], outputs: [{ kind: 'slot', index: 1 }], params: [0, -5, 1 << 30], name: 'blocks.0.wq' },
        { kind: 'rope', inputs: [{ kind: 'slot', index: 1 }, { kind: 'input', index: 1 }, { kind: 'tensor', index: 5 }], outputs: [{ kind: 'slot', index: 1 }], params: [8] },
        { kind: 'classifier', inputs: [{ kind: 'slot', index: 0 }, { kind: 'tensor', index: 0 }], outputs: [{ kind: 'slot', index: 2 }], params: [] },
      ],
      outputs: [{ kind: 'slot', index: 2 }],
    },
    plan: {
      method: 'uniform bits=8',
      blocks: [{
        block: 0, bits: 8, groupSize: 0, format: 'int8', entropy: 5.25, rule: 'uniform',
        matrices: [{ name: 'wq', bits: 8, groupSize: 0, format: 'int8' }, { name: 'w1', bits: 4, groupSize: 32, format: 'q4_lut', entropy: 3.5, rule: 'low entropy' }],
      }],
    },
    target: { name: 'wasm32', simd: true },
    tokenizer: {
      pieces: ['<unk>', '<s>', '</s>', ' a', 'b', 'c', ' the', '\u00e9'].map((s) => new TextEncoder().encode(s)),
      scores: [0, 0, 0, -65536, -131072, -196608, -6553, -1],
      scoreFracBits: 16,
      hostScores: [0, 0, 0, -1, -2, -3, -0.125, -1 / 1024],
      maxTokenLength: 4,
      bosId: 1,
      eosId: 2,
    },
    metadata: {
      sourceSha256: seededBytes(32, 99),
      sourceName: 'stories-fixture.bin',
      compiler: 'edgeq',
      compilerVersion: '0.1.0',
      extra: [['plan', 'uniform'], ['note', 'fixture']],
    },
    conformance: [
      { name: 'bos', tokens: [1, 3, 4, 5], positions: 3, outputHashes: [0xcbf29ce484222325n, 1n, 0xffffffffffffffffn], argmax: [3, 4, 5] },
      { name: 'short', tokens: [1], positions: 1, outputHashes: [42n], argmax: [] },
    ],
  };
}

/**
 * The generated AssemblyScript constants (runtime/assembly/generated/schema.ts) as plain
 * objects, e.g. constants.TensorVT.data: tests patch bytes at the offsets the device uses.
 */
export function asSchemaConstants(): Record<string, Record<string, number>> {
  const text = readFileSync(join(ROOT, 'runtime/assembly/generated/schema.ts'), 'utf8');
  const out: Record<string, Record<string, number>> = {};
  for (const m of text.matchAll(/export enum (\w+) \{([^}]*)\}/g)) {
    out[m[1]] = Object.fromEntries([...m[2].matchAll(/(\w+) = (\d+)/g)].map((x) => [x[1], Number(x[2])]));
  }
  return out;
}

/** The verifier module (verify-entry.ts), compiled once per test process. */
let verifyWasm: Promise<Uint8Array<ArrayBuffer>> | undefined;
export function compileVerifier(): Promise<Uint8Array<ArrayBuffer>> {
  verifyWasm ??= compileAssemblyScript({ entries: ['runtime/assembly/verify-entry.ts'] }).then((r) => r.wasm);
  return verifyWasm;
}

export interface VerifierExports {
  memory: WebAssembly.Memory;
  alloc(n: number): number;
  verify(ptr: number, len: number): number;
  errorOffset(): number;
  dtypeBytes(dt: number, dims: number, rank: number, groupSize: number): bigint;
  fnv1a64(ptr: number, len: number): bigint;
  [limit: string]: unknown;
}

/** A fresh instance of the verifier with `capacity` bytes reserved at `ptr`. */
export async function verifier(capacity: number): Promise<{ ex: VerifierExports; ptr: number; run(bytes: Uint8Array, at?: number): number }> {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(await compileVerifier()), {});
  const ex = instance.exports as unknown as VerifierExports;
  const ptr = ex.alloc(capacity + 16);
  return {
    ex,
    ptr,
    run(bytes, at = ptr) {
      new Uint8Array(ex.memory.buffer, at, bytes.length).set(bytes);
      return ex.verify(at, bytes.length);
    },
  };
}
