// The harness's plot (docs/quality.svg): mean KL (log scale) against bits per block weight,
// one colour per model, every plan a dot, each model's frontier (quality.ts) a line through
// its frontier points. Plain SVG text, no dependency; deterministic (same input, same bytes).
import { frontier, type QualityPoint } from './quality.ts';

const W = 720, H = 440, L = 70, R = 170, T = 30, B = 50;
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function qualitySvg(title: string, series: ReadonlyArray<{ name: string; points: readonly QualityPoint[] }>): string {
  const all = series.flatMap((s) => s.points).filter((p) => p.kl > 0);
  const x0 = Math.floor(Math.min(...all.map((p) => p.bpw))), x1 = Math.ceil(Math.max(...all.map((p) => p.bpw)));
  const y0 = Math.floor(Math.log10(Math.min(...all.map((p) => p.kl)))), y1 = Math.ceil(Math.log10(Math.max(...all.map((p) => p.kl))));
  const px = (b: number) => L + ((b - x0) / Math.max(1, x1 - x0)) * (W - L - R);
  const py = (kl: number) => T + ((y1 - Math.log10(kl)) / Math.max(1, y1 - y0)) * (H - T - B);
  const f = (v: number) => v.toFixed(1);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${L}" y="18" font-size="14">${esc(title)}</text>`];
  for (let b = x0; b <= x1; b++) out.push(`<line x1="${f(px(b))}" y1="${T}" x2="${f(px(b))}" y2="${H - B}" stroke="#ddd"/><text x="${f(px(b))}" y="${H - B + 16}" text-anchor="middle">${b}</text>`);
  for (let e = y0; e <= y1; e++) out.push(`<line x1="${L}" y1="${f(py(10 ** e))}" x2="${W - R}" y2="${f(py(10 ** e))}" stroke="#ddd"/><text x="${L - 6}" y="${f(py(10 ** e) + 4)}" text-anchor="end">1e${e}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">bits per block weight</text>`,
    `<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">mean KL (nats, log scale)</text>`);
  series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length], pts = s.points.filter((p) => p.kl > 0);
    const fr = frontier(pts);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${fr.map((p) => `${f(px(p.bpw))},${f(py(p.kl))}`).join(' ')}"/>`);
    for (const p of pts) {
      const on = fr.includes(p);
      out.push(`<circle cx="${f(px(p.bpw))}" cy="${f(py(p.kl))}" r="${on ? 4 : 3}" fill="${on ? c : 'white'}" stroke="${c}"><title>${esc(`${s.name} ${p.plan}: ${p.bpw.toFixed(2)} bpw, KL ${p.kl.toPrecision(3)}`)}</title></circle>`);
    }
    out.push(`<rect x="${W - R + 14}" y="${T + 20 * i}" width="12" height="12" fill="${c}"/><text x="${W - R + 32}" y="${T + 20 * i + 11}">${esc(s.name)}</text>`);
  });
  out.push(`<text x="${W - R + 14}" y="${T + 20 * series.length + 14}">filled, joined: frontier</text>`, '</svg>');
  return out.join('\n') + '\n';
}
