// Builds the LUT GEMV kernels (scalar and SIMD; with `withQ8` also the int8 and vq2 GEMVs)
// into small wasm modules and runs them on typed arrays: used by test/lut-kernels.test.ts and
// bench/lut-gemv.bench.ts.
import { compileAssemblyScript } from '../../compiler/codegen/asc.ts';

export type LutFlavour = 'scalar' | 'simd';

export interface LutModule {
  flavour: LutFlavour;
  wasm: Uint8Array<ArrayBuffer>;
  memory: WebAssembly.Memory;
  ex: {
    lutTables(tables: number, x: number, n: number, nPad: number): void;
    gemvLut(out: number, planes: number, groups: number, wM: number, wE: number, tables: number,
      xM: number, xE: number, n: number, d: number, bits: number, gs: number, outFrac: number): void;
    gemvQ8?(out: number, w: number, wM: number, wE: number, x: number, xM: number, xE: number, n: number, d: number, outFrac: number): void;
    gemvVq?(out: number, codes: number, codebook: number, wM: number, wE: number, x: number, xM: number, xE: number, n: number, d: number, outFrac: number): void;
    heapBase(): number;
    sumI32?(p: number, n: number): number;
  };
  /** Bump allocator over the module's memory (grows it); 16-byte aligned. */
  alloc(bytes: number): number;
  /** Resets the allocator to the heap base. */
  reset(): void;
  bytes(): Uint8Array;
}

const ENTRY = (flavour: LutFlavour, withQ8: boolean) => `
export { lutTables, gemvLut } from "../runtime/kernels/${flavour}/gemv_lut";
${withQ8 ? `export { gemvQ8 } from "../runtime/kernels/${flavour}/gemv_q8";
export { gemvVq } from "../runtime/kernels/${flavour}/gemv_vq";` : ''}
export function heapBase(): usize { return __heap_base; }
/** Read-bandwidth probe: sum of n int32 at p. */
export function sumI32(p: usize, n: i32): i32 {
  let s = 0;
  ${flavour === 'simd' ? `let a = i32x4.splat(0), b = i32x4.splat(0);
  const n8 = n & ~7;
  for (let i = 0; i < n8; i += 8) {
    a = i32x4.add(a, v128.load(p + (<usize>i << 2)));
    b = i32x4.add(b, v128.load(p + (<usize>i << 2), 16));
  }
  a = i32x4.add(a, b);
  s = i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
  for (let i = n8; i < n; i++) s += load<i32>(p + (<usize>i << 2));` : `for (let i = 0; i < n; i++) s += load<i32>(p + (<usize>i << 2));`}
  return s;
}
`;

export async function buildLut(flavour: LutFlavour, opts: { withQ8?: boolean } = {}): Promise<LutModule> {
  const path = `test/lut-entry-${flavour}.ts`;
  const { wasm } = await compileAssemblyScript({ entries: [path], simd: flavour === 'simd', sources: { [path]: ENTRY(flavour, opts.withQ8 ?? false) } });
  return instantiateLut(flavour, wasm);
}

export function instantiateLut(flavour: LutFlavour, wasm: Uint8Array<ArrayBuffer>): LutModule {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm), {});
  const ex = inst.exports as unknown as LutModule['ex'] & { memory: WebAssembly.Memory };
  const memory = ex.memory;
  const base = (ex.heapBase() + 15) & ~15;
  let top = base;
  return {
    flavour, wasm, memory, ex,
    alloc(bytes: number) {
      const p = top;
      top = (top + bytes + 15) & ~15;
      const need = top - memory.buffer.byteLength;
      if (need > 0) memory.grow(Math.ceil(need / 65536));
      return p;
    },
    reset() { top = base; },
    bytes: () => new Uint8Array(memory.buffer),
  };
}

/** A GEMV case: n real columns (x holds n), stored as nPadOf(n, gs) (whole groups). */
export interface LutCase {
  planes: Uint8Array; groups: Uint8Array; wM: Int16Array; wE: Int8Array;
  x: Int16Array; xM: number; xE: number; n: number; d: number; bits: number; gs: number; outFrac: number;
}

/** The kernels' column count: whole groups (compiler/quantize/lowbit-format.ts paddedCols, restated). */
export const nPadOf = (n: number, gs: number): number => Math.ceil(n / gs) * gs;

/** Runs the kernel module on one case; returns the outputs. */
export function runLut(m: LutModule, c: LutCase): Int32Array {
  m.reset();
  const put = (a: ArrayBufferView) => {
    const p = m.alloc(a.byteLength);
    m.bytes().set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), p);
    return p;
  };
  const pPlanes = put(c.planes), pGroups = put(c.groups), pM = put(c.wM), pE = put(c.wE), pX = put(c.x);
  const nPad = nPadOf(c.n, c.gs), pT = m.alloc(8 * nPad), pOut = m.alloc(4 * c.d);
  m.ex.lutTables(pT, pX, c.n, nPad);
  m.ex.gemvLut(pOut, pPlanes, pGroups, pM, pE, pT, c.xM, c.xE, nPad, c.d, c.bits, c.gs, c.outFrac);
  return new Int32Array(m.memory.buffer.slice(pOut, pOut + 4 * c.d));
}
