// Deterministic random numbers for synthetic weights: the same (seed, tensor name) gives
// the same float32 bits on every machine. Everything is 32-bit integer arithmetic
// (Math.imul, shifts) except the Gaussian transform, which uses only +,-,*,/, Math.sqrt
// (IEEE-exact) and Math.log/Math.exp (V8 ships its own fdlibm port, so they do not
// depend on the platform's libm). No Math.random, no trig.

/** FNV-1a over UTF-16 code units: a stable 32-bit id for a tensor name. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** SplitMix32 step, used only to expand a seed into xoshiro's 128-bit state. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** xoshiro128** (Blackman & Vigna): small, fast, good enough statistics for weights. */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  private spare = NaN;

  /** A stream determined by `seed` (uint32) and `stream` (e.g. a tensor name). */
  constructor(seed: number, stream: string) {
    let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ hash32(stream)) >>> 0;
    this.a = x = splitmix32(x); this.b = x = splitmix32(x);
    this.c = x = splitmix32(x); this.d = splitmix32(x) | 1; // never all zero
  }

  /** Next uint32. */
  next(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d;
    this.c ^= t; this.d = rotl(this.d, 11);
    return r;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number { return this.next() / 4294967296; }

  /** Standard normal, Marsaglia's polar method (no trig; pairs are cached). */
  gauss(): number {
    if (this.spare === this.spare) { const s = this.spare; this.spare = NaN; return s; }
    for (;;) {
      const u = (this.next() | 0) / 2147483648;
      const v = (this.next() | 0) / 2147483648;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const m = Math.sqrt((-2 * Math.log(s)) / s);
      this.spare = v * m;
      return u * m;
    }
  }
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));
