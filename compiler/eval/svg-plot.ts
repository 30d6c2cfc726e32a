// A log-scale line/dot plot as plain SVG text (no dependency; same input, same bytes), shared
// by the reports that draw one: docs/quality.svg (KL against bits, quality-svg.ts) and the
// KV-cache sweep's KL by position (kv-bucket-svg.ts). y is drawn on a log10 axis; x is linear
// with a tick at every multiple of `xStep`.

export interface PlotPoint { x: number; y: number; /** hover text */ label: string; /** drawn filled (else hollow) */ filled?: boolean }
export interface PlotSeries { name: string; points: readonly PlotPoint[]; /** the points joined by the series' line */ line: readonly PlotPoint[] }
export interface PlotSpec { title: string; xLabel: string; yLabel: string; xStep?: number; /** the x axis runs at least to here */ xMax?: number; series: readonly PlotSeries[]; legendNote?: string; /** room for the legend at the right (default 170 px) */ legendWidth?: number }

const H = 440, L = 70, T = 30, B = 50;
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#7f7f7f', '#17becf', '#bcbd22'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function logPlotSvg(spec: PlotSpec): string {
  const R = spec.legendWidth ?? 170, W = 550 + R;
  const step = spec.xStep ?? 1;
  const all = spec.series.flatMap((s) => s.points).filter((p) => p.y > 0);
  const x0 = Math.floor(Math.min(...all.map((p) => p.x)) / step) * step, x1 = Math.ceil(Math.max(spec.xMax ?? -Infinity, ...all.map((p) => p.x)) / step) * step;
  const y0 = Math.floor(Math.log10(Math.min(...all.map((p) => p.y)))), y1 = Math.ceil(Math.log10(Math.max(...all.map((p) => p.y))));
  const px = (x: number) => L + ((x - x0) / Math.max(step, x1 - x0)) * (W - L - R);
  const py = (y: number) => T + ((y1 - Math.log10(y)) / Math.max(1, y1 - y0)) * (H - T - B);
  const f = (v: number) => v.toFixed(1);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${L}" y="18" font-size="14">${esc(spec.title)}</text>`];
  for (let x = x0; x <= x1; x += step) out.push(`<line x1="${f(px(x))}" y1="${T}" x2="${f(px(x))}" y2="${H - B}" stroke="#ddd"/><text x="${f(px(x))}" y="${H - B + 16}" text-anchor="middle">${x}</text>`);
  for (let e = y0; e <= y1; e++) out.push(`<line x1="${L}" y1="${f(py(10 ** e))}" x2="${W - R}" y2="${f(py(10 ** e))}" stroke="#ddd"/><text x="${L - 6}" y="${f(py(10 ** e) + 4)}" text-anchor="end">1e${e}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(spec.xLabel)}</text>`,
    `<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length], pts = s.points.filter((p) => p.y > 0);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${s.line.filter((p) => p.y > 0).map((p) => `${f(px(p.x))},${f(py(p.y))}`).join(' ')}"/>`);
    for (const p of pts) {
      out.push(`<circle cx="${f(px(p.x))}" cy="${f(py(p.y))}" r="${p.filled ? 4 : 3}" fill="${p.filled ? c : 'white'}" stroke="${c}"><title>${esc(p.label)}</title></circle>`);
    }
    out.push(`<rect x="${W - R + 14}" y="${T + 20 * i}" width="12" height="12" fill="${c}"/><text x="${W - R + 32}" y="${T + 20 * i + 11}">${esc(s.name)}</text>`);
  });
  if (spec.legendNote) out.push(`<text x="${W - R + 14}" y="${T + 20 * spec.series.length + 14}">${esc(spec.legendNote)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
