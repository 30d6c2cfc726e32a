// Compile-time conversions from float to the integer formats of docs/integer-spec.md §2.
// The compiler may use float to compute tables and scales; only integers leave this file.

/** Round half away from zero (C's lround): symmetric, so q(-w) = -q(w). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

export interface Scale { m: number; e: number }

/**
 * x > 0 as a scale (m, e): m = round(x * 2^e) in [2^14, 2^15), value m * 2^-e. x * 2^e is
 * exact in float64, so the only rounding is the final one (relative error <= 2^-15).
 */
export function toScale(x: number): Scale {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`scale must be positive and finite, got ${x}`);
  let e = 14 - Math.floor(Math.log2(x));
  // Math.log2 may be off by one ulp near powers of two: settle e exactly.
  while (x * 2 ** e >= 32768) e--;
  while (x * 2 ** e < 16384) e++;
  let m = roundHalfAway(x * 2 ** e);
  if (m === 32768) { m = 16384; e--; }
  return { m, e };
}

/** The real value of a scale. */
export const scaleValue = (s: Scale): number => s.m * 2 ** -s.e;

/** ceil(log2(n)) for an integer n >= 1, exactly. */
export function ceilLog2(n: number): number {
  let b = 0;
  while (2 ** b < n) b++;
  return b;
}
