// Budget-fit checks shared by the planner tests (ewq, damage): real artifact sizes of plans,
// independent of the planner's skeleton sizing (compiler/plan/size.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openModel } from '../../compiler/import/open-model.ts';
import { loadWeights } from '../../compiler/import/graph.ts';
import { quantizeInt8 } from '../../compiler/quantize/int8.ts';
import { lowerInt8 } from '../../compiler/lower/program.ts';
import { contentsFromQuant } from '../../compiler/emit/from-quant.ts';
import { writeArtifact } from '../../compiler/emit/artifact.ts';
import { loadTarget } from '../../compiler/target/profile.ts';
import { readPlanFile, type PlanSpec } from '../../compiler/plan/plan.ts';
import { ewqPlanJson } from '../../compiler/plan/ewq.ts';

/** model.edgeq as edgeq compile writes it (no tokenizer), without building the runtime: quantized for real. */
export function realArtifactBytes(ckpt: string, plan: PlanSpec, vectors = 32): number {
  const model = quantizeInt8(loadWeights(openModel(ckpt)), { plan });
  const contents = contentsFromQuant({ model, program: lowerInt8(model), target: loadTarget('wasm32'), plan, sourceSha256: new Uint8Array(32), sourcePath: ckpt, vectors });
  return writeArtifact(contents).length;
}

/** The plan as edgeq compile reads it: written to `dir`/`name`, read back (name and sha256 are stored). */
export function planAsFile(dir: string, p: Parameters<typeof ewqPlanJson>[0], name = 'plan.json'): PlanSpec {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(ewqPlanJson(p), null, 2) + '\n');
  return readPlanFile(f);
}

/** Block `b` one step of `p.bits` higher, as a plan file (per-block bits only, default the highest). */
export function raisedPlan(dir: string, p: { bits: number[]; blocks: Array<{ bits: number }> }, b: number, name = 'plan.json'): PlanSpec {
  const bits = p.blocks.map((x, i) => (i === b ? p.bits[p.bits.indexOf(x.bits) - 1] : x.bits));
  const choice = (x: number) => (x === 8 ? { bits: 8 } : { bits: x, groupSize: 64 });
  const f = join(mkdtempSync(join(dir, 'raised-')), name);
  writeFileSync(f, JSON.stringify({ edgeqPlan: 1, default: choice(p.bits[0]), blocks: Object.fromEntries(bits.map((x, i) => [String(i), choice(x)])) }));
  return readPlanFile(f);
}
