// The KV-cache sweep's plot (scripts/kv-sweep.ts --svg; docs/kv-cache-*.svg): mean KL
// against the float reference (log scale) by position bucket, one line per cache format,
// so how each format's error grows along the context is visible at a glance.
import { logPlotSvg } from './svg-plot.ts';

export interface KvSweepResult { format: string; kl: number; klByBucket: readonly number[] }

/** x = the first position of each bucket of seqLen / buckets positions. */
export function kvBucketSvg(title: string, seqLen: number, results: readonly KvSweepResult[]): string {
  return logPlotSvg({
    title, xLabel: 'position (start of bucket)', yLabel: 'mean KL (nats, log scale)', xMax: seqLen, legendWidth: 300, xStep: seqLen / Math.max(1, results[0]?.klByBucket.length ?? 1),
    series: results.map((r) => {
      const width = seqLen / r.klByBucket.length;
      const points = r.klByBucket.map((y, i) => ({ x: i * width, y, filled: true, label: `${r.format}: positions ${i * width}–${(i + 1) * width - 1}, KL ${y.toPrecision(3)}` }));
      return { name: `${r.format} (${r.kl.toPrecision(2)})`, points, line: points };
    }),
  });
}
