// RoPE θ, RMSNorm ε and RoPE frequency factors travel from the source model's spec into
// every forward: the float reference's RoPE checked against a hand computation, Llama-3's
// frequency factors against the published formula (transformers' _compute_llama3_parameters,
// written out again here), the integer RoPE tables and rmsEpsQ32 against the formulas of
// docs/integer-spec.md computed here, and the artifact's config carrying the fields only
// when they differ from llama2.c's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from './helpers/models.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { writeGraphHf } from '../compiler/import/hf/hf-write.ts';
import { writeGraphGguf } from '../compiler/import/gguf/gguf-write.ts';
import { loadWeights, type FloatWeights } from '../compiler/import/graph.ts';
import { llama2cSpec } from '../compiler/import/model-spec.ts';
import { FloatTransformer, rope, rmsnorm } from '../compiler/reference/float/forward.ts';
import { AblationTransformer } from '../compiler/eval/ablate.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { emitArtifact, parsePlan } from '../compiler/emit/from-quant.ts';
import { readArtifact } from '../compiler/emit/artifact.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-spec-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const src = openModel(model('stories260K.bin')); // dim 64, 8 heads: head size 8
const HS = 8;
const LLAMA3 = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };

/** stories260K written as an HF directory with other θ, ε and rope_scaling, read back. */
function hfVariant(name: string, edit: Record<string, unknown>) {
  const d = join(dir, name);
  writeGraphHf(d, src, 'F32');
  const p = join(d, 'config.json');
  writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, 'utf8')), ...edit }));
  return openModel(d);
}

/** transformers' llama3 inv_freq, as the ratio plain / scaled per pair. */
function llama3Expected(theta: number, hs: number): number[] {
  const { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: old } = LLAMA3;
  const out: number[] = [];
  for (let i = 0; i < hs; i += 2) {
    const invFreq = 1.0 / theta ** (i / hs);
    const wavelen = (2 * Math.PI) / invFreq;
    let scaled = wavelen > old / low ? invFreq / factor : invFreq;
    const smooth = (old / wavelen - low) / (high - low);
    const medium = !(wavelen < old / high) && !(wavelen > old / low);
    if (medium) scaled = (1 - smooth) * scaled / factor + smooth * scaled;
    out.push(invFreq / scaled);
  }
  return out;
}

test('float reference RoPE with θ = 100000 and frequency factors matches a hand computation', () => {
  const q = Float32Array.of(1, 2, 3, 4), k = Float32Array.of(1, 2, 3, 4);
  const pos = 7;
  // hs = 4: pair 0 turns by pos·θ^0 = 7 rad, pair 1 by pos·θ^(-1/2) / 8.
  const a0 = 7, a1 = 7 / Math.sqrt(100000) / 8;
  const want = [Math.cos(a0) - 2 * Math.sin(a0), Math.sin(a0) + 2 * Math.cos(a0), 3 * Math.cos(a1) - 4 * Math.sin(a1), 3 * Math.sin(a1) + 4 * Math.cos(a1)];
  rope(q, k, pos, 4, { theta: 100000, factors: Float32Array.of(1, 8) });
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(q[i] - want[i]) < 2e-5, `q[${i}] ${q[i]} vs ${want[i]}`);
    assert.ok(Math.abs(k[i] - want[i]) < 2e-5, `k[${i}] ${k[i]} vs ${want[i]}`);
  }
  // ε: mean(x²) = 5e-7, so ε = 1e-6 and 1e-5 give different gains.
  const o = new Float32Array(2), x = Float32Array.of(1e-3, 0), g = Float32Array.of(1, 1);
  rmsnorm(o, x, g, 1e-6);
  assert.ok(Math.abs(o[0] - 1e-3 / Math.sqrt(5e-7 + 1e-6)) < 1e-5, String(o[0]));
});

test('HF rope_theta, rms_norm_eps and llama3 rope_scaling reach the spec; llama3 factors follow the published formula; GGUF rope_freqs round-trips', () => {
  const g = hfVariant('llama3', { rope_theta: 500000, rms_norm_eps: 1e-6, rope_scaling: LLAMA3 });
  assert.is(g.spec!.ropeTheta, 500000);
  assert.is(g.spec!.normEps, 1e-6);
  const want = llama3Expected(500000, HS);
  // hs 8 at θ 500000: wavelengths 6.3, 167, 4457, 118800 — high, high, medium, low.
  assert.is(want[0], 1); assert.is(want[3], 8); assert.ok(want[2] > 1 && want[2] < 8);
  const got = [...g.spec!.ropeFreqFactors!];
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= want[i] * 2 ** -23, `factor ${i}: ${got[i]} vs ${want[i]}`);
  const gg = join(dir, 'llama3.gguf');
  writeGraphGguf(gg, g, 'F32');
  const back = openModel(gg);
  assert.equal([...back.spec!.ropeFreqFactors!], got);
  assert.is(back.spec!.ropeTheta, 500000);
  assert.is(back.spec!.normEps, Math.fround(1e-6));
  const lin = hfVariant('linear', { rope_scaling: { type: 'linear', factor: 4 } });
  assert.equal([...lin.spec!.ropeFreqFactors!], [4, 4, 4, 4]);
});

test('float reference, ablation and integer model use the spec: pos 0 unchanged by θ, later positions not', () => {
  const g = hfVariant('theta', { rope_theta: 100000 });
  const base = new FloatTransformer(loadWeights(src)), other = new FloatTransformer(loadWeights(g));
  const tokens = [1, 300, 42, 7];
  let maxDiff = 0;
  tokens.forEach((t, pos) => {
    const a = base.forward(t, pos).slice(), b = other.forward(t, pos);
    const d = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    if (pos === 0) assert.is(d, 0, 'RoPE at position 0 is the identity for every θ');
    else maxDiff = Math.max(maxDiff, d);
  });
  assert.ok(maxDiff > 1e-3, `θ changed nothing (${maxDiff})`);
  // The float64 ablation forward with no rounding step on tracks the float reference of the same spec.
  const w = loadWeights(g), abl = new AblationTransformer(w, { sites: new Set() }), ft = new FloatTransformer(w);
  tokens.forEach((t, pos) => {
    const a = abl.forward(t, pos), b = ft.forward(t, pos);
    for (let i = 0; i < b.length; i++) if (!(Math.abs(a[i] - b[i]) < 1e-3)) assert.unreachable(`ablate pos ${pos} logit ${i}: ${a[i]} vs ${b[i]}`);
  });
});

test('integer RoPE tables and rmsEpsQ32 computed from θ, factors and ε (docs/integer-spec.md §4)', () => {
  const g = hfVariant('tables', { rope_theta: 500000, rms_norm_eps: 1e-6, rope_scaling: LLAMA3 });
  const m = quantizeInt8(loadWeights(g));
  const cos = m.tensors.find((t) => t.name === 'rope.cos')!.data, sin = m.tensors.find((t) => t.name === 'rope.sin')!.data;
  const ff = llama3Expected(500000, HS), half = HS / 2;
  let off = 0;
  for (let p = 0; p < g.config.seqLen; p++) {
    for (let i = 0; i < half; i++) {
      const a = (p * 500000 ** (-2 * i / HS)) / ff[i];
      // round half away from zero of 2^14·cos/sin; a last-ulp difference of the angle may flip a .5 case.
      const r = (v: number) => Math.sign(v) * Math.floor(Math.abs(v) * 2 ** 14 + 0.5);
      off += Math.abs(cos[p * half + i] - r(Math.cos(a))) + Math.abs(sin[p * half + i] - r(Math.sin(a)));
    }
  }
  assert.ok(off <= 2, `rope tables differ from the formula in ${off} units`);
  assert.is(m.params.rmsEpsQ32, 4295); // round(1e-6 · 2^32) = round(4294.97)
  assert.equal(m.rope, { ropeTheta: 500000, normEps: 1e-6, ropeFreqFactors: [...g.spec!.ropeFreqFactors!] });
});

const emit = (w: FloatWeights) => {
  const m = quantizeInt8(w);
  return emitArtifact({ model: m, program: lowerInt8(m), target: { name: 'wasm32', simd: true }, plan: parsePlan('uniform:8'), sourceSha256: new Uint8Array(32), sourcePath: 'x', vectors: 4 });
};

test('the artifact config carries θ, ε and factors only when they differ from llama2.c\'s', () => {
  const w = loadWeights(src);
  const plain = emit(w), explicit = emit({ ...w, spec: llama2cSpec(src.config) });
  assert.equal(explicit, plain, 'an explicit llama2.c spec writes the same bytes');
  const c0 = readArtifact(plain).config;
  assert.is(c0.ropeTheta, undefined); assert.is(c0.rmsNormEps, undefined); assert.is(c0.ropeFreqFactors, undefined);
  const g = hfVariant('artifact', { rope_theta: 500000, rms_norm_eps: 1e-6, rope_scaling: LLAMA3 });
  const c = readArtifact(emit(loadWeights(g))).config;
  assert.is(c.ropeTheta, 500000); assert.is(c.rmsNormEps, 1e-6);
  assert.equal(c.ropeFreqFactors, [...g.spec!.ropeFreqFactors!]);
});

test.run();
