// One harness for the kernel corpus (test/kernels/kernels.test.ts): a case names its
// buffers and the kernel calls over them; the harness runs the calls with the reference
// kernels (TypeScript, runtime/kernels/reference) and on each AssemblyScript flavour
// (runtime/kernels/scalar; runtime/kernels/simd where a kernel has a SIMD variant, else the
// scalar one compiled with SIMD on — what a SIMD runtime runs), and returns every buffer a
// case compares. Kernels take the same arguments in every flavour (typed arrays in the
// reference, their addresses in wasm memory in the ports), so one call list serves all.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compileAssemblyScript } from '../../compiler/codegen/asc.ts';
import type { OpKindName } from '../../compiler/emit/artifact-contents.ts';
import { AttentionScratch, attention } from '../../runtime/kernels/reference/attention.ts';
import { embeddingLookup } from '../../runtime/kernels/reference/embedding.ts';
import { gemvLut, lutTables } from '../../runtime/kernels/reference/gemv_lut.ts';
import { gemvQ8 } from '../../runtime/kernels/reference/gemv_q8.ts';
import { gemvVq } from '../../runtime/kernels/reference/gemv_vq.ts';
import { kvStore } from '../../runtime/kernels/reference/kv_store.ts';
import { kvStoreQ } from '../../runtime/kernels/reference/kv_store_q.ts';
import { attentionQ } from '../../runtime/kernels/reference/attention_q.ts';
import { quantizeAct } from '../../runtime/kernels/reference/quantize_act.ts';
import { residualAdd } from '../../runtime/kernels/reference/residual.ts';
import { rmsnormQuant } from '../../runtime/kernels/reference/rmsnorm.ts';
import { ropeQ16 } from '../../runtime/kernels/reference/rope.ts';
import { hadamard } from '../../runtime/kernels/reference/hadamard.ts';
import { swigluQ16 } from '../../runtime/kernels/reference/silu.ts';
import { ROOT } from '../helpers/models.ts';

export type Buf = Int8Array | Int16Array | Int32Array | Uint8Array;
/** A buffer of the case (by name) or an i32 scalar. */
export type Arg = string | number;

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyFn = (...a: any[]) => void;

/**
 * Every kernel entry point the corpus calls: its reference function (arguments in the
 * ports' order) and the kernel file (runtime/kernels/<flavour>/<file>.ts) of the ports.
 * quantizeAct is generic over q's element type in AssemblyScript: the entry instantiates it
 * as quantizeActI8 / quantizeActI16.
 */
export const KERNEL_FNS = {
  embeddingLookup: { file: 'embedding', reference: embeddingLookup as AnyFn },
  rmsnormQuant: { file: 'rmsnorm', reference: rmsnormQuant as AnyFn },
  gemvQ8: { file: 'gemv_q8', reference: gemvQ8 as AnyFn },
  ropeQ16: { file: 'rope', reference: ropeQ16 as AnyFn },
  kvStore: { file: 'kv_store', reference: kvStore as AnyFn },
  attention: {
    file: 'attention',
    // The reference takes its scratch as one object; the port as three buffers.
    reference: ((out, q, pos, kc, kM, kE, vc, vM, vE, nH, nKv, hs, attM, attE, exp2, q12, scores, weights) => {
      const s = Object.assign(Object.create(AttentionScratch.prototype) as AttentionScratch, { q12, scores, weights, sc: new Int32Array(4) });
      attention(out, q, pos, kc, kM, kE, vc, vM, vE, nH, nKv, hs, attM, attE, exp2, s);
    }) as AnyFn,
  },
  kvStoreQ: { file: 'kv_store_q', reference: kvStoreQ as AnyFn },
  attentionQ: {
    file: 'attention_q',
    reference: ((out, q, pos, kc, kM, kE, vc, vM, vE, S, nH, nKv, hs, attM, attE, kBits, vBits, window, anchors, kBlock, st, exp2, q12, scores, weights) => {
      const s = Object.assign(Object.create(AttentionScratch.prototype) as AttentionScratch, { q12, scores, weights, sc: new Int32Array(4) });
      attentionQ(out, q, pos, kc, kM, kE, vc, vM, vE, S, nH, nKv, hs, attM, attE, kBits, vBits, window, anchors, kBlock, st, exp2, s);
    }) as AnyFn,
  },
  quantizeActI8: { file: 'quantize_act', reference: quantizeAct as AnyFn },
  quantizeActI16: { file: 'quantize_act', reference: quantizeAct as AnyFn },
  swigluQ16: { file: 'silu', reference: swigluQ16 as AnyFn },
  residualAdd: { file: 'residual', reference: residualAdd as AnyFn },
  lutTables: { file: 'gemv_lut', reference: lutTables as AnyFn },
  gemvLut: { file: 'gemv_lut', reference: gemvLut as AnyFn },
  hadamard: { file: 'hadamard', reference: hadamard as AnyFn },
  gemvVq: { file: 'gemv_vq', reference: gemvVq as AnyFn },
} as const;
export type KernelFn = keyof typeof KERNEL_FNS;

export interface KernelCase {
  /** The op kind the case exercises (compiler/ops/kinds). */
  op: OpKindName;
  label: string;
  buffers: Record<string, Buf>;
  calls: Array<{ fn: KernelFn; args: Arg[] }>;
  /** Buffers compared across flavours: the op's outputs whose bytes are specified. */
  compare: string[];
}

export type Flavour = 'reference' | 'scalar' | 'simd';
export type Results = Record<string, Buf>;

const clone = (b: Buf): Buf => b.slice();

/** Runs the case with the reference kernels (on copies of its buffers). */
export function runReference(c: KernelCase): Results {
  const bufs = Object.fromEntries(Object.entries(c.buffers).map(([k, v]) => [k, clone(v)]));
  for (const call of c.calls) {
    const args = call.args.map((a) => (typeof a === 'string' ? bufs[a] : a));
    KERNEL_FNS[call.fn].reference(...args);
  }
  return Object.fromEntries(c.compare.map((k) => [k, bufs[k]]));
}

/** The AssemblyScript entry of one flavour: every corpus kernel, exported by name. */
export function entrySource(flavour: 'scalar' | 'simd'): string {
  const fileOf = (file: string) => (flavour === 'simd' && existsSync(join(ROOT, 'runtime/kernels/simd', `${file}.ts`)) ? 'simd' : 'scalar');
  const lines: string[] = [];
  for (const [fn, { file }] of Object.entries(KERNEL_FNS)) {
    if (fn.startsWith('quantizeAct')) continue;
    lines.push(`export { ${fn} } from "../../runtime/kernels/${fileOf(file)}/${file}";`);
  }
  lines.push(
    `import { quantizeAct } from "../../runtime/kernels/${fileOf('quantize_act')}/quantize_act";`,
    ...(['I8', 'I16'] as const).map((t) => `export function quantizeAct${t}(q: usize, qo: i32, v: usize, vo: i32, n: i32, frac: i32, qmax: i32, invM: i32, invE: i32, sc: usize, so: i32): void {
  quantizeAct<${t.toLowerCase()}>(q, qo, v, vo, n, frac, qmax, invM, invE, sc, so);
}`),
    'export function heapBase(): usize { return __heap_base; }',
  );
  return `${lines.join('\n')}\n`;
}

export interface FlavourModule {
  flavour: 'scalar' | 'simd';
  wasm: Uint8Array;
  run(c: KernelCase): Results;
}

/** Compiles one flavour's entry (cached by content, compiler/codegen/asc-cache.ts). */
export async function buildFlavour(flavour: 'scalar' | 'simd', source = entrySource(flavour)): Promise<FlavourModule> {
  const path = `test/kernels/entry-${flavour}.ts`;
  const { wasm } = await compileAssemblyScript({ entries: [path], simd: flavour === 'simd', sources: { [path]: source } });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm), {});
  const ex = inst.exports as unknown as Record<string, AnyFn> & { memory: WebAssembly.Memory; heapBase(): number };
  const base = (Number(ex.heapBase()) + 15) & ~15;
  return {
    flavour, wasm,
    run(c) {
      // Each buffer 16-aligned after the heap base, with a 64-byte gap so an overrun
      // into a neighbour shows as a difference rather than silently.
      const addr: Record<string, number> = {};
      let top = base;
      for (const [k, b] of Object.entries(c.buffers)) { addr[k] = top; top = (top + b.byteLength + 64 + 15) & ~15; }
      const need = top - ex.memory.buffer.byteLength;
      if (need > 0) ex.memory.grow(Math.ceil(need / 65536));
      const mem = new Uint8Array(ex.memory.buffer);
      mem.fill(0, base, top);
      for (const [k, b] of Object.entries(c.buffers)) mem.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), addr[k]);
      for (const call of c.calls) ex[call.fn](...call.args.map((a) => (typeof a === 'string' ? addr[a] : a)));
      const out: Results = {};
      for (const k of c.compare) {
        const b = c.buffers[k];
        const bytes = new Uint8Array(ex.memory.buffer).slice(addr[k], addr[k] + b.byteLength);
        out[k] = new (b.constructor as new (buf: ArrayBuffer) => Buf)(bytes.buffer);
      }
      return out;
    },
  };
}

/** The first difference between two results (buffer, element, values), or null. */
export function firstDifference(want: Results, got: Results): string | null {
  for (const [k, a] of Object.entries(want)) {
    const b = got[k];
    if (!b || b.length !== a.length) return `${k}: length ${b?.length} vs ${a.length}`;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `${k}[${i}]: expected ${a[i]}, got ${b[i]}`;
  }
  return null;
}
