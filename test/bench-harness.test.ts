// The benchmark harness (bench/harness.ts): cases run in interleaved rounds after one
// warm-up round, prepare() runs untimed before every run, and a ratio is the median of
// same-round ratios (so a load change between rounds cancels).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fmt, measureSection, printTable, ratio, type BenchCase, type Measurement } from '../bench/harness.ts';

test('rounds interleave the cases after a warm-up round; prepare() precedes every run', () => {
  const log: string[] = [];
  const mk = (name: string, runs: number, warmup = 1): BenchCase => ({
    name, unit: 'op/s', runs, warmup,
    prepare: () => log.push(`prep ${name}`),
    run: () => { log.push(`run ${name}`); let s = 0; for (let i = 0; i < 2e5; i++) s += i; return s > 0 ? 1 : 0; },
  });
  const ms = measureSection('s', [mk('a', 2, 2), mk('b', 3), mk('c', 1)]);
  const runs = log.filter((l) => l.startsWith('run')).map((l) => l.slice(4)).join('');
  // warm-up: a a b c; round 0: a b c; round 1: a b; round 2: b.
  assert.is(runs, 'aabc' + 'abc' + 'ab' + 'b');
  for (let i = 0; i < log.length; i += 2) assert.is(log[i].replace('prep', 'run'), log[i + 1]);
  assert.equal(ms.map((m) => [m.id, m.runs]), [['s/a', 2], ['s/b', 3], ['s/c', 1]]);
  assert.ok(Number.isNaN(ms[2].cpuRates[1]) && Number.isNaN(ms[0].cpuRates[2]));
  for (const m of ms) assert.ok(m.median > 0 && m.wallMedian > 0 && m.min <= m.median && m.median <= m.max);
});

test('ratio: median of same-round ratios within a section; medians across sections', () => {
  const m = (id: string, cpu: number[]): Measurement => ({ id, unit: 'x', cpuRates: cpu, wallRates: cpu, median: [...cpu].sort((a, b) => a - b)[cpu.length >> 1], min: 0, max: 0, wallMedian: 0, runs: cpu.length });
  // The machine slows by 2x in round 1 and 4x in round 2: every same-round ratio is 2.
  const base = m('s/base', [100, 50, 25]), fast = m('s/fast', [200, 100, 50]);
  assert.equal(ratio(fast, base), { value: 2, paired: true });
  // Rounds a case sat out are skipped.
  assert.equal(ratio(m('s/f2', [200, NaN, 75]), base), { value: 3, paired: true });
  assert.equal(ratio(m('t/other', [300, 300, 300]), base), { value: 6, paired: false });
});

test('slow cases print seconds, and small rates keep their digits (not 0.00)', () => {
  assert.is(fmt(0.004), '0.00400');
  assert.is(fmt(0.25), '0.25');
  const m: Measurement = { id: 'c/slow', unit: 'compiles/s', cpuRates: [1 / 250], wallRates: [1 / 250], median: 1 / 250, min: 1 / 260, max: 1 / 240, wallMedian: 1 / 250, runs: 1 };
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    printTable({ id: 'c', title: 't', cases: () => [] }, [[{ name: 'slow', unit: 'compiles/s', seconds: true, run: () => 1 }, m]], new Map());
  } finally {
    console.log = log;
  }
  const row = lines.find((l) => l.startsWith('slow'))!;
  assert.match(row, /250 s\s+240\.\.260\s+250 s/);
});

test.run();
