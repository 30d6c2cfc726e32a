// npm run kv-sweep -- --synth <shape> [--formats a,b] [--runs N]: the sweep's memory and speed
// part on a synthetic checkpoint of a named shape (compiler/synth, e.g. stories15M): per
// format, the cache bytes (kvCacheBytes, what the arena holds) and greedy decode speed over
// the whole context of the SIMD runtime.wasm in V8, timed as npm run bench does (CPU time,
// formats interleaved round by round, median of N rounds, ratio to the first format per
// round: bench/harness.ts). No KL: synthetic
// weights are seeded noise, so their output distribution says nothing about how a trained
// model's attention suffers from a coarser cache (quality comes from the real checkpoints).
import { greedyRuntime } from '../bench/decode.ts';
import { type BenchCase, measureSection, ratio } from '../bench/harness.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { kvCacheBytes, parseKvFormat } from '../compiler/quantize/kv-cache.ts';
import { shapeByName, SHAPE_NAMES, synthWeights } from '../compiler/synth/synth.ts';
import { loadTarget } from '../compiler/target/profile.ts';

export interface SynthRow { format: string; bytes: number; tokPerS: number; ratio: number }

export async function synthSweep(shapeName: string, formats: string[], runs: number): Promise<SynthRow[]> {
  const shape = shapeByName(shapeName);
  if (!shape) throw new Error(`--synth ${shapeName}: not a shape name (${SHAPE_NAMES.join(', ')})`);
  const w = synthWeights(shape, 1), base = quantizeInt8(w), n = shape.seqLen;
  const kvShape = { nLayers: shape.nLayers, nKvHeads: shape.nKvHeads, headSize: shape.dim / shape.nHeads, seqLen: n };
  const cases: BenchCase[] = [];
  for (const f of formats) {
    const b = await bundleFromQuant({
      model: { ...base, kvCache: parseKvFormat(f) }, target: loadTarget('wasm32'), plan: { kind: 'uniform', bits: 8 }, planName: 'uniform:8',
      sourceSha256: new Uint8Array(32), sourcePath: 'synth', vectors: 1,
    });
    const rt = await WasmRuntime.create(b.files['runtime.wasm'], b.files['model.edgeq'], shape.vocabSize);
    cases.push({ name: f, unit: 'tok/s', runs, run: () => greedyRuntime(rt, n) });
  }
  const ms = measureSection('kv-sweep', cases);
  const rows = formats.map((f, i) => ({ format: f, bytes: kvCacheBytes(parseKvFormat(f), kvShape), tokPerS: ms[i].median, ratio: ratio(ms[i], ms[0]).value }));
  for (const r of rows) {
    process.stderr.write(`${r.format.padEnd(24)} cache ${r.bytes.toLocaleString('en')} bytes  decode ${r.tokPerS.toFixed(0)} tok/s (${r.ratio.toFixed(2)}x ${formats[0]})\n`);
  }
  process.stderr.write(`${shapeName} (synthetic weights, seed 1): no KL, since seeded noise weights have no trained attention to lose; quality comes from the real checkpoints.\n`);
  return rows;
}
