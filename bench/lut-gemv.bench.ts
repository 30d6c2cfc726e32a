// LUT GEMV micro-benchmark (issue 5): the 110M shape's matrices (768x768, 2048x768,
// 768x2048) in V8, int8 GEMV (runtime/kernels/{scalar,simd}/gemv_q8.ts) against the 6..1-bit
// LUT kernels (runtime/kernels/{scalar,simd}/gemv_lut.ts) and the vq2 GEMV (gemv_vq.ts,
// issue 15 item 5; random codes and codebook), in Gweights/s with the ratio to
// int8 of the same build. Then the read bandwidth measured in this run (summing 256 MB of
// int32 in wasm SIMD; and 16 MB, in cache) and each kernel streaming a set of copies of the
// 768x2048 matrix larger than the caches, in GB/s of weight bytes (planes + group bytes +
// row scales), whose ratio to the 256 MB read is its fraction of the bandwidth limit.
import type { BenchCase, BenchSection } from './harness.ts';
import { Rng } from '../compiler/synth/prng.ts';
import { groupBytes, lutGroupSizes, planeBytes, type LowBits } from '../compiler/quantize/lowbit-format.ts';
import { buildLut, type LutModule } from '../test/helpers/lut-wasm.ts';
import { GROUPED_FORMATS } from '../compiler/quantize/formats/registry.ts';
import { vq2CodeBytes } from '../compiler/quantize/vq2.ts';

const SHAPES: Array<[number, number]> = [[768, 768], [2048, 768], [768, 2048]];
const GS = 64;
/** The group size a kind runs at: GS, or the largest its bits admit (q6: 32; spec §9.6). */
const gsOf = (kind: Kind): number => (kind === 'int8' || kind === 'vq2' ? 0 : Math.min(GS, lutGroupSizes(kind).at(-1)!));
type Kind = 'int8' | 'vq2' | LowBits;
const STREAM_BYTES = 192 << 20; // > the ~64-128 MiB cache plateau (TOOLCHAIN-NOTES)

interface Kernel { kind: Kind; bytes: number; d: number; n: number }

function seededBytes(len: number, seed: number): Uint8Array {
  const rng = new Rng(seed, 'bench');
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i += 4) { const v = rng.next(); b[i] = v; b[i + 1] = v >> 8; b[i + 2] = v >> 16; b[i + 3] = v >> 24; }
  return b;
}

/** Uploads `copies` copies of a random matrix of kernel `k` (+ x, tables, out); returns a runner. */
function setup(m: LutModule, k: Kernel, copies: number): () => void {
  m.reset();
  const { d, n } = k;
  // vq2: the codes, and its codebook (random int8 in [-127, 127]) in the groups' place.
  const wBytes = k.kind === 'int8' ? d * n : k.kind === 'vq2' ? vq2CodeBytes(d, n) : planeBytes(k.kind, d, n, gsOf(k.kind));
  const gBytes = k.kind === 'int8' ? 0 : k.kind === 'vq2' ? 64 : groupBytes(d, n, gsOf(k.kind));
  const w: number[] = [], gr: number[] = [];
  const wData = seededBytes(wBytes, 1), gData = seededBytes(gBytes, 2);
  if (k.kind === 'vq2') gData.forEach((b, i) => { if (b === 128) gData[i] = 129; });
  else for (let i = 0; i < gData.length; i++) if (i & 16) gData[i] &= 15; // z2 <= 30
  for (let c = 0; c < copies; c++) {
    w.push(m.alloc(wBytes)); m.bytes().set(wData, w[c]);
    gr.push(m.alloc(Math.max(16, gBytes))); m.bytes().set(gData, gr[c]);
  }
  const wM = m.alloc(2 * d), wE = m.alloc(d), x = m.alloc(2 * n), t = m.alloc(8 * n), out = m.alloc(4 * d);
  const mem = new DataView(m.memory.buffer);
  for (let o = 0; o < d; o++) { mem.setInt16(wM + 2 * o, 20000, true); mem.setInt8(wE + o, 36); }
  const rng = new Rng(3, 'x');
  for (let j = 0; j < n; j++) mem.setInt16(x + 2 * j, (rng.next() % 4095) - 2047, true);
  let c = 0;
  if (k.kind === 'vq2') return () => { m.ex.gemvVq!(out, w[c], gr[c], 20000, 36, x, 20000, 14, n, d, 16); c = (c + 1) % copies; };
  return k.kind === 'int8'
    ? () => { m.ex.gemvQ8!(out, w[c], wM, wE, x, 20000, 14, n, d, 16); c = (c + 1) % copies; }
    : () => { m.ex.lutTables(t, x, n, n); m.ex.gemvLut(out, w[c], gr[c], wM, wE, t, 20000, 14, n, d, k.kind as number, gsOf(k.kind), 16); c = (c + 1) % copies; };
}

/**
 * A case whose buffers are (re)uploaded, untimed (prepare), before a run that follows
 * another case on the same module (the rounds interleave cases: bench/harness.ts).
 */
function kernelCase(m: LutModule, k: Kernel, name: string, unit: 'Gw/s' | 'GB/s', copies: number, baseline: string): BenchCase {
  const calls = Math.max(copies, Math.ceil(4e8 / (k.d * k.n))); // ~0.4 G weights per timed run
  let runner: (() => void) | null = null;
  const owner = m as LutModule & { current?: unknown };
  const per = unit === 'Gw/s' ? (k.d * k.n) / 1e9 : k.bytes / 1e9;
  return {
    name, unit, baseline, warmup: 2, runs: 5,
    prepare() {
      if (owner.current !== name || !runner) { runner = setup(m, k, copies); owner.current = name; }
    },
    run() {
      for (let i = 0; i < calls; i++) runner!();
      return calls * per;
    },
  };
}

/**
 * The read-bandwidth probe: summing `mb` MB of int32 with wasm SIMD in the SIMD LUT module,
 * in GB/s; its baseline is the section's own 256 MB probe (bench/lowbit.bench.ts reuses it).
 */
export function readProbe(simd: LutModule, mb: number, sectionId: string): BenchCase {
  const ints = (mb << 20) >> 2;
  let p = -1;
  const owner = simd as LutModule & { current?: unknown };
  return {
    name: `read ${mb} MB (wasm SIMD sum)`, unit: 'GB/s', warmup: 2, runs: 7, baseline: `${sectionId}/read 256 MB (wasm SIMD sum)`,
    prepare() {
      if (p < 0 || owner.current !== `probe${mb}`) {
        simd.reset(); p = simd.alloc(ints * 4); new Int32Array(simd.memory.buffer, p, ints).fill(1);
        owner.current = `probe${mb}`;
      }
    },
    run() {
      const reps = Math.max(1, 256 / mb);
      for (let r = 0; r < reps; r++) simd.ex.sumI32!(p, ints);
      return (reps * ints * 4) / 1e9;
    },
  };
}

const weightBytes = (kind: Kind, d: number, n: number) =>
  kind === 'vq2' ? vq2CodeBytes(d, n) + 64 + 3 : (kind === 'int8' ? d * n : planeBytes(kind, d, n, gsOf(kind)) + groupBytes(d, n, gsOf(kind))) + 3 * d;

const section: BenchSection = {
  id: 'lut-gemv',
  title: `LUT GEMV kernels vs int8 (V8, one thread; LUT group size ${GS}, q6 32; Gw/s = 10^9 weights/s)`,
  async cases() {
    const [scalar, simd] = await Promise.all([buildLut('scalar', { withQ8: true }), buildLut('simd', { withQ8: true })]);
    const cases: BenchCase[] = [];
    const label = (kind: Kind) => (kind === 'int8' || kind === 'vq2' ? kind : `q${kind}`);
    // EDGEQ_BENCH_LUT_KINDS (comma-separated labels: q4, q2, vq2, ...) selects kernels; int8 always runs.
    const want = process.env.EDGEQ_BENCH_LUT_KINDS?.split(',');
    const kinds: Kind[] = (['int8', ...GROUPED_FORMATS.map((f) => f.bits), 'vq2'] as Kind[]).filter((k) => k === 'int8' || !want || want.includes(label(k)));
    for (const [d, n] of SHAPES) {
      for (const m of [scalar, simd]) {
        for (const kind of kinds) {
          cases.push(kernelCase(m, { kind, d, n, bytes: weightBytes(kind, d, n) }, `${label(kind)} ${m.flavour} ${d}x${n}`, 'Gw/s', 1,
            `lut-gemv/int8 ${m.flavour} ${d}x${n}`));
        }
      }
    }
    // Read bandwidth, measured in this run.
    const probe = (mb: number) => readProbe(simd, mb, 'lut-gemv');
    cases.push(probe(256), probe(16));
    const [d, n] = [768, 2048];
    for (const m of [simd, scalar]) {
      for (const kind of m === simd ? kinds : kinds.filter((k) => k === 'int8' || k === 4 || k === 1 || k === 'vq2')) {
        const bytes = weightBytes(kind, d, n);
        cases.push(kernelCase(m, { kind, d, n, bytes }, `stream ${label(kind)} ${m.flavour} ${d}x${n} x${Math.ceil(STREAM_BYTES / bytes)}`, 'GB/s',
          Math.ceil(STREAM_BYTES / bytes), 'lut-gemv/read 256 MB (wasm SIMD sum)'));
      }
    }
    return cases;
  },
};
export default section;
