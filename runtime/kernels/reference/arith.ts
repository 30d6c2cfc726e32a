// int32 helpers shared by the kernels (docs/integer-spec.md §2). Every value is an int32;
// the only operators are + - on values whose sum provably fits, Math.imul, shifts,
// comparisons and Math.clz32. Division is the shift-subtract loop below (AssemblyScript:
// i32.div_u gives the same quotient).

/** Largest int32; saturation is symmetric, to [-I32_MAX, I32_MAX], so |v| always fits. */
export const I32_MAX = 0x7fffffff;

/** Number of significant bits of v > 0 (v in [2^(b-1), 2^b) has bitLength b). */
export function bitLength(v: number): number {
  return 32 - Math.clz32(v);
}

/** |v| for v in [-I32_MAX, I32_MAX]. */
export function abs32(v: number): number {
  return v < 0 ? -v : v;
}

/** a + b saturated to [-I32_MAX, I32_MAX]. */
export function satAdd(a: number, b: number): number {
  const s = (a + b) | 0; // wraps like i32.add
  // Signed overflow happened iff a and b share a sign that s does not.
  if (((a ^ s) & (b ^ s)) < 0) return a < 0 ? -I32_MAX : I32_MAX;
  return s === -2147483648 ? -I32_MAX : s;
}

/** a - b saturated to [-I32_MAX, I32_MAX] (a, b in that range, so -b does not wrap). */
export function satSub(a: number, b: number): number {
  return satAdd(a, -b);
}

/** v * 2^s for s >= 0, saturated (v in [-I32_MAX, I32_MAX]). */
export function shlSat(v: number, s: number): number {
  if (v === 0) return 0;
  if (s >= 31) return v < 0 ? -I32_MAX : I32_MAX;
  const lim = I32_MAX >> s; // |v| <= lim  <=>  |v| * 2^s <= I32_MAX
  if (v > lim) return I32_MAX;
  if (v < -lim) return -I32_MAX;
  return v << s;
}

/**
 * Round half up: floor((v + 2^(s-1)) / 2^s) for s in [1, 30]; s = 0 returns v. The caller
 * guarantees v + 2^(s-1) fits an int32 (each use states the bound).
 */
export function roundShift(v: number, s: number): number {
  if (s <= 0) return v;
  return (v + (1 << (s - 1))) >> s;
}

/** floor(n / d) for 0 <= n <= I32_MAX and 0 < d < 2^30, by restoring long division. */
export function divFloor(n: number, d: number): number {
  let q = 0, r = 0;
  for (let i = 30; i >= 0; i--) {
    r = (r << 1) | ((n >> i) & 1); // r < 2d < 2^31: no overflow
    q = q << 1;
    if (r >= d) { r = r - d; q = q | 1; }
  }
  return q;
}

/** round(n / d), halves up: floor((n + floor(d/2)) / d); n + d/2 must fit an int32. */
export function divRound(n: number, d: number): number {
  return divFloor(n + (d >> 1), d);
}

/**
 * floor(sqrt(n)) for 0 <= n <= I32_MAX, digit by digit (exact, no table), then rounded to
 * nearest: r + 1 when n - r^2 > r, i.e. when sqrt(n) >= r + 1/2.
 */
export function isqrtRound(n: number): number {
  let rem = n, res = 0, bit = 1 << 30;
  while (bit > rem) bit = bit >> 2;
  while (bit !== 0) {
    if (rem >= res + bit) { rem = rem - (res + bit); res = (res >> 1) + bit; }
    else res = res >> 1;
    bit = bit >> 2;
  }
  return rem > res ? res + 1 : res;
}
