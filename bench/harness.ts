// The benchmark harness: sections (bench/<name>.bench.ts) provide cases, and everything is
// printed as one table per section.
//
// Fair ratios on a shared machine: a section's cases are measured in *interleaved rounds*
// (one warm-up round, then round r runs every case that wants more than r runs, once each,
// in order), so a shift in machine load hits every case alike instead of whichever case was
// running at the time. Each run is timed twice: CPU time of this process
// (process.cpuUsage(), user + system) and wall time. The CPU-time rate is the primary
// number: time the scheduler gives to other processes is not counted, while memory stalls
// (bandwidth, caches) still are, so it suits the read-bandwidth probe too (one thread, busy).
// A case may name a baseline case; the ratio is the median over the rounds both ran in of
// (case rate / baseline rate), CPU time: each ratio is taken from numbers of the same round.

export interface BenchCase {
  /** Row label, unique within its section. */
  name: string;
  /** What run() counts, per second (e.g. "tok/s"). */
  unit: string;
  /**
   * One timed run; returns how many units of work it did. A case whose work happens in a
   * child process returns the child's CPU time too (this process's own is then not used).
   */
  run(): number | ChildWork;
  /**
   * Untimed, before every run (warm-up and timed): restores state another case may have
   * changed, e.g. re-uploads buffers into a wasm memory several cases share.
   */
  prepare?(): void;
  /** Optional "section/case" id whose rate this case is divided by in the ratio column. */
  baseline?: string;
  /** Runs in the warm-up round (JIT warm-up, caches); default 1. */
  warmup?: number;
  /** Timed runs (one per round); the median is reported; default 5. */
  runs?: number;
  /**
   * run() measures itself and returns the wall seconds one unit of work took (e.g. a child
   * process's start-up, which this process's CPU time cannot see); both rates are 1 / seconds.
   */
  selfTimed?: boolean;
  /**
   * Print seconds per unit instead of units per second (slow cases: a compile of 200 s is
   * a rate of 0.005/s, which two decimals show as 0.00).
   */
  seconds?: boolean;
}

/** Work done by child processes: units and their CPU seconds (user + system). */
export interface ChildWork { units: number; cpuSeconds: number }

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
  /** Rate per round from CPU time (user + system of this process); NaN in rounds it sat out. */
  cpuRates: number[];
  /** Rate per round from wall time; NaN in rounds it sat out. */
  wallRates: number[];
  /** CPU-time rates: median, min, max. */
  median: number;
  min: number;
  max: number;
  /** Wall-time median. */
  wallMedian: number;
  runs: number;
}

const median = (xs: number[]) => { const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b); return s[s.length >> 1]; };

/** Measures a section's cases in interleaved rounds (see the top of this file). */
export function measureSection(sectionId: string, cases: BenchCase[]): Measurement[] {
  for (const c of cases) {
    for (let i = 0; i < (c.warmup ?? 1); i++) { c.prepare?.(); c.run(); }
  }
  const rounds = Math.max(0, ...cases.map((c) => c.runs ?? 5));
  const cpu = cases.map(() => new Array<number>(rounds).fill(NaN));
  const wall = cases.map(() => new Array<number>(rounds).fill(NaN));
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, i) => {
      if (r >= (c.runs ?? 5)) return;
      c.prepare?.();
      const c0 = process.cpuUsage(), w0 = performance.now();
      const out = c.run();
      const w = (performance.now() - w0) / 1000, u = process.cpuUsage(c0);
      const units = typeof out === 'number' ? out : out.units;
      if (c.selfTimed) {
        cpu[i][r] = wall[i][r] = 1 / units;
      } else {
        cpu[i][r] = units / (typeof out === 'number' ? (u.user + u.system) / 1e6 : out.cpuSeconds);
        wall[i][r] = units / w;
      }
    });
  }
  return cases.map((c, i) => {
    const ok = cpu[i].filter((x) => !Number.isNaN(x));
    return {
      id: `${sectionId}/${c.name}`, unit: c.unit, cpuRates: cpu[i], wallRates: wall[i],
      median: median(ok), min: Math.min(...ok), max: Math.max(...ok), wallMedian: median(wall[i]), runs: ok.length,
    };
  });
}

/**
 * The ratio of m to its baseline: the median of per-round ratios (CPU time) over the
 * rounds both ran in; a baseline of another section (no common rounds) gives median / median.
 */
export function ratio(m: Measurement, base: Measurement): { value: number; paired: boolean } {
  const per: number[] = [];
  if (m.id.split('/')[0] === base.id.split('/')[0]) {
    for (let r = 0; r < Math.min(m.cpuRates.length, base.cpuRates.length); r++) {
      if (!Number.isNaN(m.cpuRates[r]) && !Number.isNaN(base.cpuRates[r])) per.push(m.cpuRates[r] / base.cpuRates[r]);
    }
  }
  return per.length ? { value: median(per), paired: true } : { value: m.median / base.median, paired: false };
}

// Three significant digits below 0.01 too (a rate of 0.004 is not 0.00).
export const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 0.01 || x === 0 ? x.toFixed(2) : x.toPrecision(3));

/** Prints one section's rows; `all` holds every measurement so far, for ratios. */
export function printTable(section: BenchSection, rows: Array<[BenchCase, Measurement]>, all: Map<string, Measurement>): void {
  // Baselines in the same section are named by case alone.
  const shortId = (id: string) => (id.startsWith(`${section.id}/`) ? id.slice(section.id.length + 1) : id);
  const lines = rows.map(([c, m]) => {
    const base = c.baseline ? all.get(c.baseline) : undefined;
    const q = base ? ratio(m, base) : undefined;
    // seconds: the reciprocal of each rate (the slowest run is the largest time).
    const s = c.seconds;
    return [
      c.name,
      s ? `${fmt(1 / m.median)} s` : `${fmt(m.median)} ${m.unit}`,
      s ? `${fmt(1 / m.max)}..${fmt(1 / m.min)}` : `${fmt(m.min)}..${fmt(m.max)}`,
      s ? `${fmt(1 / m.wallMedian)} s` : `${fmt(m.wallMedian)}`,
      String(m.runs),
      c.baseline ? (q ? `${q.value.toFixed(2)}x ${shortId(c.baseline)}${q.paired ? '' : ' (medians)'}` : `(${c.baseline} not run)`) : '',
    ];
  });
  const head = ['case', 'CPU-time median', 'min..max', 'wall median', 'runs', 'ratio (per-round, CPU time)'];
  const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => cells.map((s, i) => (i === 1 || i === 3 ? s.padStart(width[i]) : s.padEnd(width[i]))).join('  ').trimEnd();
  console.log(`\n## ${section.title}\n`);
  console.log('Rates from this process\'s CPU time (user + system), cases interleaved round by round after a warm-up round; wall-clock median alongside; ratios: median over rounds of the same-round ratio.\n');
  console.log(row(head));
  console.log(row(width.map((w) => '-'.repeat(w))));
  for (const l of lines) console.log(row(l));
}
