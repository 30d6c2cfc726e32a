// int32 helpers shared by the kernels (docs/integer-spec.md §2). Port of
// runtime/kernels/reference/arith.ts: the same functions, in native i32 (divFloor is
// i32.div_u, which gives the reference's shift-subtract quotient for its domain).

/** Largest int32; saturation is symmetric, to [-I32_MAX, I32_MAX], so |v| always fits. */
export const I32_MAX: i32 = 0x7fffffff;

/** Number of significant bits of v > 0 (v in [2^(b-1), 2^b) has bitLength b). */
// @ts-ignore: decorator
@inline export function bitLength(v: i32): i32 {
  return 32 - clz<i32>(v);
}

/** |v| for v in [-I32_MAX, I32_MAX]. */
// @ts-ignore: decorator
@inline export function abs32(v: i32): i32 {
  return v < 0 ? -v : v;
}

/** a + b saturated to [-I32_MAX, I32_MAX]. */
export function satAdd(a: i32, b: i32): i32 {
  const s = a + b; // wraps (i32.add)
  // Signed overflow happened iff a and b share a sign that s does not.
  if (((a ^ s) & (b ^ s)) < 0) return a < 0 ? -I32_MAX : I32_MAX;
  return s == i32.MIN_VALUE ? -I32_MAX : s;
}

/** a - b saturated to [-I32_MAX, I32_MAX] (a, b in that range, so -b does not wrap). */
// @ts-ignore: decorator
@inline export function satSub(a: i32, b: i32): i32 {
  return satAdd(a, -b);
}

/** v * 2^s for s >= 0, saturated (v in [-I32_MAX, I32_MAX]). */
export function shlSat(v: i32, s: i32): i32 {
  if (v == 0) return 0;
  if (s >= 31) return v < 0 ? -I32_MAX : I32_MAX;
  const lim = I32_MAX >> s; // |v| <= lim  <=>  |v| * 2^s <= I32_MAX
  if (v > lim) return I32_MAX;
  if (v < -lim) return -I32_MAX;
  return v << s;
}

/** Round half up: floor((v + 2^(s-1)) / 2^s) for s in [1, 30]; s = 0 returns v. */
// @ts-ignore: decorator
@inline export function roundShift(v: i32, s: i32): i32 {
  if (s <= 0) return v;
  return (v + (1 << (s - 1))) >> s;
}

/**
 * floor(n / d) for 0 <= n <= I32_MAX and 0 < d < 2^30. Total: d = 0 (which no valid
 * program produces, but arena slots may alias and a corrupted artifact can feed a kernel
 * anything) gives I32_MAX instead of a divide-by-zero trap (found by scripts/fuzz.ts).
 */
// @ts-ignore: decorator
@inline export function divFloor(n: i32, d: i32): i32 {
  return d == 0 ? 0x7fffffff : <i32>(<u32>n / <u32>d);
}

/** round(n / d), halves up: floor((n + floor(d/2)) / d); n + d/2 must fit an int32. */
// @ts-ignore: decorator
@inline export function divRound(n: i32, d: i32): i32 {
  return divFloor(n + (d >> 1), d);
}

/**
 * floor(sqrt(n)) for 0 <= n <= I32_MAX, digit by digit (exact, no table), then rounded to
 * nearest: r + 1 when n - r^2 > r, i.e. when sqrt(n) >= r + 1/2.
 */
export function isqrtRound(n: i32): i32 {
  let rem = n, res = 0, bit = 1 << 30;
  while (bit > rem) bit = bit >> 2;
  while (bit != 0) {
    if (rem >= res + bit) { rem = rem - (res + bit); res = (res >> 1) + bit; }
    else res = res >> 1;
    bit = bit >> 2;
  }
  return rem > res ? res + 1 : res;
}
