// npm run kv-grouping-sim -- <checkpoint> <tokenizer> [--tokens N] [--calib N] [--window W] [--block G] [--lo-bits b] [--step-mant b] [--configs a;b;...] [--layers 0,2] [--heads 0,3]
//
// Which scale grouping of the quantized K (and V) cache loses least (docs/kv-cache.md,
// "Scale grouping"): a float simulation, not the integer format. The float reference runs
// teacher-forced over full-context windows of the text (as npm run kv-sweep) while every
// cached K/V row that has left the last W positions is replaced by its quantized-then-
// dequantized value (the W newest rows stay exact, as the int8 ring of `,w<W>`); the mean KL
// against the unquantized float reference says what the grouping costs. A config is
// `k<bits><grouping>v<bits><grouping>`, groupings:
//   t  per (position, kv head), symmetric, qmax 2^(b-1)-1 (today's format: 2 bits ternary)
//   a  per (position, kv head), asymmetric min/max, 2^b levels
//   r  t after a normalized Walsh–Hadamard rotation of the head (`,rot`)
//   c  per channel, symmetric, scale from the float model's max |K| on calibration text (static)
//   C  per channel, asymmetric, range [min, max] of the float model's K on calibration text (static)
//   b  per channel over blocks of G positions (--block, default W; KIVI), symmetric; B: asymmetric
//   D  B from int8 rows (per (position, kv head)), as a device would requantize its int8 ring
//   M  B with its metadata quantized as a smaller format would store it: per (block, kv head) a
//      power-of-two 12-bit domain (as §3.7.3), lo rounded down to --lo-bits (default 8) of that
//      domain, the step a float of a 4-bit exponent and --step-mant mantissa bits (default 0: a
//      power of two), rounded up — 4 + step-mant + lo-bits bits per (block, channel) instead of 32
//   T  per position, symmetric, one scale shared by every kv head of the row (V: 3 bytes per
//      position instead of 3 per (position, kv head))
//   f  not quantized
// e.g. k2tv2t (today's k2v2,w32), k2bv2t, k2cv2t. --layers / --heads: quantize only there.
// --stats: statistics of K instead (below).
import { readFileSync } from 'node:fs';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { Activations, FLOAT32_SUMS64, FloatModel } from '../compiler/reference/float/model.ts';
import { windows } from '../compiler/eval/teacher-forced.ts';
import { klFromLogProbs, logSoftmax } from '../compiler/eval/metrics.ts';
import { encodeParagraphs } from '../compiler/eval/text-stream.ts';
import { loadTokenizerFile } from '../compiler/import/tokenizers/load.ts';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const [ckpt, tokPath] = args;
if (!ckpt || !tokPath) { process.stderr.write('usage: npm run kv-grouping-sim -- <checkpoint> <tokenizer> [--tokens N] [--calib N] [--window W] [--configs k2tv2t;k2bv2t] [--layers l,..] [--heads h,..]\n'); process.exit(2); }
const tokens = Number(flag('--tokens', '2000')), calibTokens = Number(flag('--calib', '2000')), W = Number(flag('--window', '32'));
// Per-channel blocks of G ≤ W positions (a block is whole in the window when its first row leaves it).
const G = Number(flag('--block', String(Math.max(W, 1))));
if (!(G >= 1 && G <= Math.max(W, 1))) throw new Error(`--block ${G}: expected 1 to the window (${W})`);
const configs = flag('--configs', 'k4tv4t;k4rv4t;k4cv4t;k4bv4t;k4Bv4t;k2tv2t;k2av2t;k2cv2t;k2bv2t;k2Bv2t').split(';');
const loBits = Number(flag('--lo-bits', '8')), stepMant = Number(flag('--step-mant', '0'));
const list = (s: string) => (s ? s.split(',').map(Number) : null);
const onlyLayers = list(flag('--layers', '')), onlyHeads = list(flag('--heads', ''));
const text = readFileSync(flag('--text', `${import.meta.dirname}/../../shared/models/tinystories-valid-head.txt`), 'utf8');

const weights = loadWeights(openModel(ckpt));
const c = weights.config, S = c.seqLen, nKv = c.nKvHeads, hs = c.dim / c.nHeads, kd = nKv * hs, L = c.nLayers;
const model = new FloatModel(weights, FLOAT32_SUMS64);
// Evaluation windows first; calibration text after them (never evaluated on).
const stream = encodeParagraphs(loadTokenizerFile(tokPath), text, tokens + calibTokens).tokens;
const evalWins = windows(stream.slice(0, tokens), S), calibWins = windows(stream.slice(tokens), S);

/** Runs the float model over `wins`; after each step `hook(acts, pos)`; `each(wi, pos, logits)`. */
function run(wins: number[][], hook: (a: Activations<Float32Array>, pos: number) => void, each: (wi: number, p: number, logits: Float32Array) => void): void {
  wins.forEach((w, wi) => {
    const acts = new Activations(c, S, false, (n) => new Float32Array(n));
    for (let p = 0; p + 1 < w.length; p++) {
      model.step(w[p], p, acts);
      each(wi, p, acts.logits);
      hook(acts, p);
    }
  });
}

// Static per-channel scales: max |K| per (layer, channel) over the calibration text.
const kMax = Array.from({ length: L }, () => new Float64Array(kd));
const kLo = Array.from({ length: L }, () => new Float64Array(kd).fill(Infinity)), kHi = Array.from({ length: L }, () => new Float64Array(kd).fill(-Infinity));
run(calibWins, (a, p) => {
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < kd; i++) {
      const x = a.layers[l].k[p * kd + i];
      kMax[l][i] = Math.max(kMax[l][i], Math.abs(x)); kLo[l][i] = Math.min(kLo[l][i], x); kHi[l][i] = Math.max(kHi[l][i], x);
    }
  }
}, () => {});
const refLp: Float64Array[][] = evalWins.map(() => []);
run(evalWins, () => {}, (wi, p, lg) => { refLp[wi][p] = logSoftmax(lg); });

/** Normalized Walsh–Hadamard transform of x[o..o+n) in place (its own inverse). */
function wht(x: Float64Array, o: number, n: number): void {
  for (let h = 1; h < n; h <<= 1) for (let i = 0; i < n; i += h << 1) for (let j = i; j < i + h; j++) {
    const a = x[o + j], b = x[o + j + h]; x[o + j] = a + b; x[o + j + h] = a - b;
  }
  const s = 1 / Math.sqrt(n);
  for (let i = 0; i < n; i++) x[o + i] *= s;
}

/** Symmetric fake quantization of values vals[idx] at scale amax/qmax; asymmetric (2^b levels) with `asym`. */
function fake(x: Float64Array, idx: number[], bits: number, asym: boolean, amaxOverride = -1, range?: [number, number]): void {
  if (asym) {
    let [lo, hi] = range ?? [Infinity, -Infinity];
    if (!range) for (const i of idx) { lo = Math.min(lo, x[i]); hi = Math.max(hi, x[i]); }
    const s = (hi - lo) / ((1 << bits) - 1), top = (1 << bits) - 1;
    if (s > 0) for (const i of idx) x[i] = lo + Math.max(0, Math.min(top, Math.round((x[i] - lo) / s))) * s;
    return;
  }
  const qmax = (1 << (bits - 1)) - 1;
  let amax = amaxOverride;
  if (amax < 0) { amax = 0; for (const i of idx) amax = Math.max(amax, Math.abs(x[i])); }
  if (amax === 0) return;
  const s = amax / qmax;
  for (const i of idx) x[i] = Math.max(-qmax, Math.min(qmax, Math.round(x[i] / s))) * s;
}

/**
 * M: asymmetric per channel over vals[idx] with quantized metadata: the block's power-of-two
 * unit u (its values' absmax below 2^11 u), lo rounded down to a multiple of 2^(12 - loBits) u,
 * the step (in units u) rounded up to stepMant mantissa bits.
 */
function fakeMeta(x: Float64Array, idx: number[], bits: number, u: number): void {
  let lo = Infinity, hi = -Infinity;
  for (const i of idx) { lo = Math.min(lo, x[i]); hi = Math.max(hi, x[i]); }
  const grid = u * 2 ** (12 - loBits), loq = Math.floor(lo / grid) * grid, top = (1 << bits) - 1;
  const raw = (hi - loq) / top / u;
  if (!(raw > 0)) { for (const i of idx) x[i] = loq; return; }
  const ulp = 2 ** (Math.floor(Math.log2(raw)) - stepMant), step = Math.ceil(raw / ulp) * ulp * u;
  for (const i of idx) x[i] = loq + Math.max(0, Math.min(top, Math.round((x[i] - loq) / step))) * step;
}

/** Quantizes rows [t0, t1) of one layer's K or V (copied into q, [S·kd] float64) with grouping g at `bits`. */
function quantRows(q: Float64Array, l: number, t0: number, t1: number, g: string, bits: number): void {
  if (g === 'T') {
    for (let t = t0; t < t1; t++) fake(q, Array.from({ length: kd }, (_, i) => t * kd + i), bits, false);
    return;
  }
  for (let h = 0; h < nKv; h++) {
    if (onlyHeads && !onlyHeads.includes(h)) continue;
    if (g === 'M') {
      let amax = 0;
      for (let t = t0; t < t1; t++) for (let i = 0; i < hs; i++) amax = Math.max(amax, Math.abs(q[t * kd + h * hs + i]));
      const u = amax > 0 ? 2 ** Math.ceil(Math.log2(amax / 2047)) : 1;
      for (let i = 0; i < hs; i++) fakeMeta(q, Array.from({ length: t1 - t0 }, (_, v) => (t0 + v) * kd + h * hs + i), bits, u);
    } else if (g === 't' || g === 'a' || g === 'r') {
      for (let t = t0; t < t1; t++) {
        const o = t * kd + h * hs, idx = Array.from({ length: hs }, (_, i) => o + i);
        if (g === 'r') wht(q, o, hs);
        fake(q, idx, bits, g === 'a');
        if (g === 'r') wht(q, o, hs);
      }
    } else {
      if (g === 'D') for (let t = t0; t < t1; t++) fake(q, Array.from({ length: hs }, (_, i) => t * kd + h * hs + i), 8, false);
      for (let i = 0; i < hs; i++) {
        const ch = h * hs + i, idx = Array.from({ length: t1 - t0 }, (_, u) => (t0 + u) * kd + ch);
        fake(q, idx, bits, g === 'B' || g === 'C' || g === 'D', g === 'c' ? kMax[l][ch] : -1, g === 'C' ? [kLo[l][ch], kHi[l][ch]] : undefined);
      }
    }
  }
}

// --stats: why per-token ternary K loses (docs/kv-cache.md). Per layer, over the evaluation
// text's K rows (float, unquantized): the share of values today's 2-bit K rounds to 0
// (|x| < half the row's absmax), the share of K's energy that is a constant per-channel
// offset (Σ mean² / Σ mean square), and the channel that most often is a row's absmax.
if (args.includes('--stats')) {
  const sum = Array.from({ length: L }, () => new Float64Array(kd)), sq = Array.from({ length: L }, () => new Float64Array(kd));
  const top = Array.from({ length: L }, () => new Float64Array(kd)), zero = new Float64Array(L);
  let rows = 0;
  run(evalWins, (a, p) => {
    rows++;
    for (let l = 0; l < L; l++) {
      const k = a.layers[l].k;
      for (let h = 0; h < nKv; h++) {
        let amax = 0, arg = 0;
        for (let i = 0; i < hs; i++) { const x = Math.abs(k[p * kd + h * hs + i]); if (x > amax) { amax = x; arg = h * hs + i; } }
        top[l][arg]++;
        for (let i = 0; i < hs; i++) if (Math.abs(k[p * kd + h * hs + i]) < amax / 2) zero[l]++;
      }
      for (let i = 0; i < kd; i++) { const x = k[p * kd + i]; sum[l][i] += x; sq[l][i] += x * x; }
    }
  }, () => {});
  for (let l = 0; l < L; l++) {
    let m2 = 0, e2 = 0, best = 0;
    for (let i = 0; i < kd; i++) { m2 += (sum[l][i] / rows) ** 2; e2 += sq[l][i] / rows; if (top[l][i] > top[l][best]) best = i; }
    const rms = (i: number) => Math.sqrt(sq[l][i] / rows), others = Array.from({ length: hs }, (_, i) => rms((best - (best % hs)) + i)).filter((_, i) => i !== best % hs);
    process.stderr.write(`layer ${l}: ${(100 * zero[l] / (rows * kd)).toFixed(1)}% of K values ternary 0; per-channel offset ${(100 * m2 / e2).toFixed(1)}% of K energy; `
      + `channel ${best % hs} of kv head ${Math.floor(best / hs)} is its row's absmax in ${(100 * top[l][best] / rows).toFixed(1)}% of positions, `
      + `mean ${(sum[l][best] / rows).toFixed(2)}, rms ${rms(best).toFixed(2)} vs the head's other channels' rms ${(others.reduce((a, b) => a + b, 0) / others.length).toFixed(2)}\n`);
  }
  process.exit(0);
}

const parse = (cfg: string) => {
  const m = /^k(\d)([tarcCbBDMTf])v(\d)([tarcCbBDMTf])$/.exec(cfg);
  if (!m) throw new Error(`config ${cfg}: expected k<bits><grouping>v<bits><grouping>, e.g. k2tv2t`);
  return { kb: Number(m[1]), kg: m[2], vb: Number(m[3]), vg: m[4] };
};

for (const cfg of configs) {
  const { kb, kg, vb, vg } = parse(cfg);
  const blocked = (g: string) => g === 'b' || g === 'B' || g === 'D' || g === 'M';
  let kl = 0, n = 0;
  const qk = Array.from({ length: L }, () => new Float64Array(S * kd)), qv = Array.from({ length: L }, () => new Float64Array(S * kd));
  // After step p, row t = p - W + 1 leaves the window (with W = 0: row p, after its own attention).
  run(evalWins, (a, p) => {
    const t = p - Math.max(W, 1) + 1;
    if (t < 0) return;
    for (let l = 0; l < L; l++) {
      if (onlyLayers && !onlyLayers.includes(l)) continue;
      const A = a.layers[l];
      for (const [arr, q, g, bits] of [[A.k, qk[l], kg, kb], [A.v, qv[l], vg, vb]] as const) {
        if (g === 'f') continue;
        // A block of G rows is quantized as its first row leaves (all G exist then); other groupings row by row.
        if (blocked(g) ? t % G === 0 : true) {
          const t1 = blocked(g) ? Math.min(t + G, p + 1) : t + 1;
          for (let i = t * kd; i < t1 * kd; i++) q[i] = arr[i];
          quantRows(q, l, t, t1, g, bits);
        }
        for (let i = t * kd; i < (t + 1) * kd; i++) arr[i] = q[i];
      }
    }
  }, (wi, p, lg) => { kl += klFromLogProbs(refLp[wi][p], logSoftmax(lg)); n++; });
  process.stderr.write(`${cfg.padEnd(8)} w${W}${G !== Math.max(W, 1) ? ` blocks of ${G}` : ''}${kg === 'M' || vg === 'M' ? ` lo ${loBits} bits, step mantissa ${stepMant} bits` : ''}${onlyLayers ? ` layers ${onlyLayers}` : ''}${onlyHeads ? ` heads ${onlyHeads}` : ''}: KL ${(kl / n).toFixed(5)} (${n} tokens)\n`);
}
