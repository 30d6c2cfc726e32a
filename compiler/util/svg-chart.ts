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

/** The reports' common stylesheet: page, headings, tables and the chart's frame and axes. */
const PAGE_CSS = `body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:20px;color:#1a202c;background:#fff}
h1{font-size:20px;margin:0 0 4px}p.m{margin:0 0 12px;color:#4a5568}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #cbd5e0;padding:3px 8px;text-align:left;font-variant-numeric:tabular-nums}
th{background:#edf2f7}
svg .t{font-size:14px;font-weight:600;fill:#1a202c}svg .ax{font-size:12px;fill:#4a5568}
svg .frame{fill:#fafbfc;stroke:#a0aec0}svg .grid{stroke:#e2e8f0}svg .axl{stroke:#718096}`;

/** A self-contained HTML report (edgeq plan --report, edgeq finetune's loss report): `title` (escaped here), the common style plus `css`, then `body`. */
export function reportPage(title: string, css: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>${esc(title)}</title>
<style>
${PAGE_CSS}
${css}
</style></head><body>
<h1>${esc(title)}</h1>
${body}
</body></html>
`;
}
