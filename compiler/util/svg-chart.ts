// The small pieces every self-contained HTML/SVG report shares (compiler/plan/report.ts,
// compiler/train/report.ts): escaping, fixed number formatting (so the same data gives the
// same bytes) and round-number axis ticks.

/** Escapes text for HTML content and attribute values. */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A coordinate with one decimal. */
export const n1 = (x: number): string => (Math.round(x * 10) / 10).toFixed(1);

/** About `want` round-number axis ticks (1, 2 or 5 × 10^k apart) spanning [lo, hi]. */
export function ticks(lo: number, hi: number, want: number): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / want, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Decimals enough to tell consecutive ticks apart; `fallback` for fewer than two ticks. */
export const decimalsFor = (vals: number[], fallback: number): number =>
  vals.length < 2 ? fallback : Math.min(8, Math.max(0, Math.ceil(-Math.log10(Math.abs(vals[1] - vals[0])))));
