// The device's param checks (runtime/assembly/op-param-checks.ts, generated from the op
// registry's rules) accept exactly what the program interpreter's checkParams accepts: both
// are compiled/run here on the same params — the lowered programs' own, each param pushed
// to edge values, and seeded random ones — and must agree on every op kind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileAssemblyScript } from '../compiler/codegen/asc.ts';
import { OP_DEFS, checkParams } from '../compiler/ops/registry.ts';
import { paramsOkName } from '../scripts/gen-ops-device.ts';
import { Rng } from '../compiler/synth/prng.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';

const ENTRY = 'runtime/assembly/param-checks-test-entry.ts';
// Kinds sharing a device binding (classifier: gemv's) share the first kind's check.
const owner = new Map<string, string>();
for (const d of OP_DEFS) if (!owner.has(d.device.check)) owner.set(d.device.check, d.kind);
const kinds = [...new Set(owner.values())];

test('device param checks agree with checkParams on edge, lowered and random params', async () => {
  const source = `export { ${kinds.map((k) => paramsOkName(k)).join(', ')} } from "./op-param-checks";
export function heapBase(): usize { return __heap_base; }\n`;
  const { wasm } = await compileAssemblyScript({ entries: [ENTRY], sources: { [ENTRY]: source } });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm), {});
  const ex = inst.exports as unknown as Record<string, (r: number) => number> & { memory: WebAssembly.Memory; heapBase(): number };
  const rec = (ex.heapBase() + 15) & ~15, params = rec + 64;
  if (ex.memory.buffer.byteLength < params + 4096) ex.memory.grow(1);
  const mem = () => new DataView(ex.memory.buffer);
  const deviceOk = (d: (typeof OP_DEFS)[number], ps: number[]): boolean => {
    mem().setUint32(rec + 4, params, true);
    ps.forEach((v, i) => mem().setInt32(params + 4 * i, v, true));
    return ex[paramsOkName(owner.get(d.device.check)!)](rec) !== 0;
  };

  // Admissible params of real programs (int8 and low-bit), then every param of each pushed
  // to edge values, then random ones.
  const seeds = new Map<string, number[][]>();
  const qm = quantizeInt8(synthWeights({ ...SHAPES.stories260K, nLayers: 1, seqLen: 16 }, 5));
  for (const op of lowerInt8(qm).ops) seeds.set(op.kind, [...(seeds.get(op.kind) ?? []), op.params]);
  // The quantized KV cache's ops (kv_store_q, attention_q; hadamard when rotated), from programs lowered with one.
  for (const kv of [{ kBits: 4, vBits: 2, window: 4, anchors: 25, rot: true, kBlock: 0 }, { kBits: 8, vBits: 4, window: 0, anchors: 0, rot: false, kBlock: 0 }, { kBits: 2, vBits: 2, window: 8, anchors: 0, rot: false, kBlock: 4 }] as const) {
    for (const op of lowerInt8({ ...qm, kvCache: kv }).ops) if (op.kind.endsWith('_q') || op.kind === 'hadamard') seeds.set(op.kind, [...(seeds.get(op.kind) ?? []), op.params]);
  }
  seeds.set('lut_tables', [[64]]);
  seeds.set('gemv_lut', [[128, 16, 16, 4, 64], [96, 16, 16, 2, 32], [8256, 3, 16, 1, 64]]);
  // vq2 (n a multiple of 16 up to MAX_GEMV_INPUT; outFrac 16 for a block matrix, LOGIT_FRAC for a classifier).
  seeds.set('gemv_vq', [[128, 16, 16], [16, 1, 0], [8256, 3, 30]]);
  const EDGES = [0, 1, -1, 2, 3, 5, 6, 7, 8, 16, 28, 29, 30, 31, 32, 33, 64, 127, 128, 2047, 8260, 8261, 2 ** 26, 2 ** 31 - 1, -(2 ** 31)];
  const rng = new Rng(13, 'param checks');
  let compared = 0, refused = 0;
  for (const d of OP_DEFS) {
    const base = seeds.get(d.kind);
    assert.ok(base?.length, `${d.kind}: no admissible params to start from`);
    const cases: number[][] = [];
    for (const ps of base!) {
      cases.push(ps);
      for (let i = 0; i < ps.length; i++) for (const e of EDGES) cases.push(ps.map((v, j) => (j === i ? e : v)));
      for (let k = 0; k < 200; k++) cases.push(ps.map((v) => (rng.uniform() < 0.5 ? v : EDGES[Math.floor(rng.uniform() * EDGES.length)])));
    }
    for (const ps of cases) {
      const host = checkParams({ kind: d.kind, name: 'x', params: ps });
      assert.is(deviceOk(d, ps), host === null, `${d.kind} [${ps}]: host says ${host ?? 'ok'}`);
      compared++;
      if (host) refused++;
    }
  }
  assert.ok(refused > compared / 4 && refused < compared, `${refused} of ${compared} refused: the cases test both sides`);
});

test.run();
