// The harness's plot (docs/quality.svg): mean KL (log scale) against bits per block weight,
// one colour per model, every plan a dot, each model's frontier (quality.ts) a line through
// its frontier points (drawn by svg-plot.ts).
import { frontier, type QualityPoint } from './quality.ts';
import { logPlotSvg } from './svg-plot.ts';

export function qualitySvg(title: string, series: ReadonlyArray<{ name: string; points: readonly QualityPoint[] }>): string {
  return logPlotSvg({
    title, xLabel: 'bits per block weight', yLabel: 'mean KL (nats, log scale)', legendNote: 'filled, joined: frontier',
    series: series.map((s) => {
      const pts = s.points.filter((p) => p.kl > 0), fr = new Set(frontier(pts));
      const point = (p: QualityPoint) => ({ x: p.bpw, y: p.kl, filled: fr.has(p), label: `${s.name} ${p.plan}: ${p.bpw.toFixed(2)} bpw, KL ${p.kl.toPrecision(3)}` });
      return { name: s.name, points: pts.map(point), line: frontier(pts).map(point) };
    }),
  });
}
