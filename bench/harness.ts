// The benchmark harness: sections (bench/<name>.bench.ts) provide cases, each case is
// warmed up and then timed over several runs, and everything is printed as one table per
// section. A case may name a baseline case (from any section); its ratio to that baseline
// is computed from numbers measured in this same process, on this same machine state.

export interface BenchCase {
  /** Row label, unique within its section. */
  name: string;
  /** What run() counts, per second (e.g. "tok/s"). */
  unit: string;
  /** One timed run; returns how many units of work it did. */
  run(): number;
  /** Optional "section/case" id whose rate this case is divided by in the ratio column. */
  baseline?: string;
  /** Runs to discard before timing (JIT warm-up, caches); default 1. */
  warmup?: number;
  /** Timed runs; the median is reported; default 5. */
  runs?: number;
}

export interface BenchSection {
  /** Short id used in baselines and on the command line, e.g. "float-reference". */
  id: string;
  title: string;
  /** Builds the cases (loading models may take a while; it is not timed). */
  cases(): BenchCase[] | Promise<BenchCase[]>;
}

export interface Measurement {
  id: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function measure(id: string, c: BenchCase): Measurement {
  for (let i = 0; i < (c.warmup ?? 1); i++) c.run();
  const rates: number[] = [];
  for (let i = 0; i < (c.runs ?? 5); i++) {
    const t0 = performance.now();
    const units = c.run();
    rates.push(units / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return { id, unit: c.unit, median: rates[rates.length >> 1], min: rates[0], max: rates[rates.length - 1], runs: rates.length };
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** Prints one section's rows; `all` holds every measurement so far, for ratios. */
export function printTable(section: BenchSection, rows: Array<[BenchCase, Measurement]>, all: Map<string, Measurement>): void {
  // Baselines in the same section are named by case alone.
  const shortId = (id: string) => (id.startsWith(`${section.id}/`) ? id.slice(section.id.length + 1) : id);
  const lines = rows.map(([c, m]) => {
    const base = c.baseline ? all.get(c.baseline) : undefined;
    return [
      c.name,
      `${fmt(m.median)} ${m.unit}`,
      `${fmt(m.min)}..${fmt(m.max)}`,
      String(m.runs),
      c.baseline ? (base ? `${(m.median / base.median).toFixed(2)}x ${shortId(c.baseline)}` : `(${c.baseline} not run)`) : '',
    ];
  });
  const head = ['case', 'median', 'min..max', 'runs', 'ratio'];
  const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => cells.map((s, i) => (i === 1 ? s.padStart(width[i]) : s.padEnd(width[i]))).join('  ').trimEnd();
  console.log(`\n## ${section.title}\n`);
  console.log(row(head));
  console.log(row(width.map((w) => '-'.repeat(w))));
  for (const l of lines) console.log(row(l));
}
