// EWQ against uniform plans at equal size on the real models (`npm run eval:plans -- --ewq`).
// Per model (bundles compiled with --vectors 0 and the model's tokenizer, as eval-plans):
//   1. uniform:8, uniform:4, uniform:3: real model.edgeq sizes S8, S4, S3.
//   2. EWQ 8,4 fitted to B = mean of the uniform:8 and uniform:4 size estimates (edgeq plan
//      --budget-bytes; lowest entropy lowered first), and "anti" = the same number of 4-bit
//      blocks on the highest-entropy blocks.
//   3. EWQ 4,2 fitted to B = uniform:3's size estimate (equal size to uniform:3), and its anti
//      plan. Budgets are estimates (the planner's size model, ~10% above real bytes) so that
//      both sides are sized alike; the table shows the real bytes.
//   4. Damage per block: every block int8 except block l at 2 bits (g64); KL per block, and the
//      Spearman rank correlation of damage with the softmax entropy and with the code-histogram
//      entropy (2-bit codes, g64) of the block.
// All metrics: edgeq eval --json, teacher-forced on tinystories-valid-head.txt.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { importLlama2c } from '../compiler/import/llama2c.ts';
import { codeEntropyMeasure, modelEntropies } from '../compiler/plan/entropy.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MODELS: Array<[string, string]> = [['stories260K', 'tok512.bin'], ['babyllama936K', 'tok105.bin']];
const edgeq = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/edgeq.mjs', ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`edgeq ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
};

/** Spearman rank correlation (average ranks for ties). */
export function spearman(a: number[], b: number[]): number {
  const rank = (v: number[]) => {
    const idx = v.map((x, i) => i).sort((i, j) => v[i] - v[j]), r = new Array<number>(v.length);
    for (let i = 0; i < idx.length;) {
      let j = i; while (j + 1 < idx.length && v[idx[j + 1]] === v[idx[i]]) j++;
      for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a), rb = rank(b), n = a.length, ma = ra.reduce((s, x) => s + x, 0) / n, mb = rb.reduce((s, x) => s + x, 0) / n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) { num += (ra[i] - ma) * (rb[i] - mb); da += (ra[i] - ma) ** 2; db += (rb[i] - mb) ** 2; }
  return da && db ? num / Math.sqrt(da * db) : 0;
}

export function evalEwq(o: { tokens: string; damageTokens: string; model?: string; out: string }): void {
  const models = process.env.EDGEQ_MODELS ?? resolve(ROOT, '../shared/models');
  const text = join(models, 'tinystories-valid-head.txt');
  const rows: string[] = [], damageRows: string[] = [];
  for (const [name, tok] of MODELS) {
    if (o.model && o.model !== name) continue;
    const ckpt = join(models, `${name}.bin`), tokp = join(models, tok);
    if (!existsSync(ckpt)) { console.error(`eval-ewq: ${ckpt} not found, skipped`); continue; }
    const base = join(o.out, `ewq-${name}`);
    mkdirSync(base, { recursive: true });
    const run = (label: string, plan: string, tokens: string) => {
      const dir = join(base, label.replace(/[^\w]/g, '_'));
      edgeq('compile', ckpt, '--target', 'wasm32', '--plan', plan, '--tokenizer', tokp, '--vectors', '0', '-o', dir);
      const j = JSON.parse(edgeq('eval', dir, '--reference', ckpt, '--text', text, '--tokens', tokens, '--json'));
      const bytes = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).files['model.edgeq'].size as number;
      console.log(JSON.stringify({ model: name, label, plan, bytes, ...j }));
      return { bytes, ...j } as { bytes: number; top1: number; kl: number; ppl: number; ppl_ref: number };
    };
    const row = (label: string, blocks: string, r: ReturnType<typeof run>) =>
      rows.push(`| ${name} | ${label} | ${blocks} | ${r.bytes} | ${(100 * r.top1).toFixed(2)}% | ${r.kl.toFixed(4)} | ${r.ppl.toFixed(3)} (float ${r.ppl_ref.toFixed(3)}) |`);
    const g = importLlama2c(ckpt);
    const L = g.config.nLayers;
    const u = Object.fromEntries([8, 4, 3].map((b) => [b, run(`uniform${b}`, `uniform:${b}`, o.tokens)]));
    for (const b of [8, 4, 3]) row(`uniform:${b}`, Array(L).fill(b).join(','), u[b]);

    // Budgets on the planner's own size model (an upper bound ~10% above the real size): the
    // uniform plans' estimates, so EWQ and uniform are sized by the same yardstick.
    const est = (b: number) => JSON.parse(edgeq('plan', ckpt, '--method', `uniform:${b}`, '--tokenizer', tokp, '--vectors', '0', '--json', '-o', join(base, `est${b}.json`))).totalBytes as number;
    const e8 = est(8), e4 = est(4), e3 = est(3);
    const mixes: Array<[number, number, number]> = [[8, 4, Math.floor((e8 + e4) / 2)], [4, 2, e3]];
    for (const [hi, lo, budget] of mixes) {
      const pf = join(base, `ewq${hi}${lo}.json`);
      edgeq('plan', ckpt, '--bits', `${hi},${lo}`, '--budget-bytes', String(budget), '--tokenizer', tokp, '--vectors', '0', '-o', pf);
      const pj = JSON.parse(readFileSync(pf, 'utf8'));
      const bits: number[] = Array.from({ length: L }, (_, l) => pj.blocks[String(l)].bits);
      const ent: number[] = Array.from({ length: L }, (_, l) => pj.blocks[String(l)].entropy);
      // Anti: the same number of lowered blocks, on the highest-entropy blocks.
      const nLow = bits.filter((b) => b === lo).length;
      const order = ent.map((e, i) => i).sort((a, b) => ent[b] - ent[a] || a - b);
      const anti = Array(L).fill(hi);
      for (const i of order.slice(0, nLow)) anti[i] = lo;
      const af = join(base, `anti${hi}${lo}.json`);
      const choice = (b: number) => (b === 8 ? { bits: 8 } : { bits: b, groupSize: 64 });
      writeFileSync(af, JSON.stringify({ edgeqPlan: 1, default: choice(hi), blocks: Object.fromEntries(anti.map((b, i) => [String(i), choice(b)])) }, null, 1));
      const what = hi === 8 ? `budget = mean of uniform:8/uniform:4 estimates, ${budget}` : `budget = uniform:3 estimate ${budget}`;
      row(`EWQ ${hi},${lo}, ${what}`, bits.join(','), run(`ewq${hi}${lo}`, pf, o.tokens));
      row(`anti-EWQ ${hi},${lo} (same mix, highest entropy lowered)`, anti.join(','), run(`anti${hi}${lo}`, af, o.tokens));
    }

    // Per-block damage of 2-bit quantization, vs the two entropies (--damage-tokens 0: skipped).
    if (o.damageTokens === '0') continue;
    const soft = modelEntropies(g).map((b) => b.entropy);
    const code = modelEntropies(g, codeEntropyMeasure(2, 64)).map((b) => b.entropy);
    const kl: number[] = [];
    for (let l = 0; l < L; l++) {
      const pf = join(base, `damage${l}.json`);
      writeFileSync(pf, JSON.stringify({ edgeqPlan: 1, default: { bits: 8 }, blocks: { [String(l)]: { bits: 2, groupSize: 64 } } }));
      kl.push(run(`damage${l}`, pf, o.damageTokens).kl);
    }
    for (let l = 0; l < L; l++) damageRows.push(`| ${name} | ${l} | ${soft[l].toFixed(6)} | ${code[l].toFixed(4)} | ${kl[l].toFixed(4)} |`);
    damageRows.push(`| ${name} | Spearman(entropy, damage) | ${spearman(soft, kl).toFixed(2)} | ${spearman(code, kl).toFixed(2)} | |`);
  }
  console.log(`\nteacher-forced, ${o.tokens} tokens (edgeq eval --json); sizes are the real model.edgeq bytes:\n`);
  console.log('| model | plan | bits per block | model.edgeq bytes | top-1 | KL | ppl |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`\nper-block damage: block l at 2 bits g64, all others int8; KL on ${o.damageTokens} tokens:\n`);
  console.log('| model | block | softmax entropy (nats) | code entropy, 2-bit (bits) | KL |');
  console.log('|---|---|---|---|---|');
  for (const r of damageRows) console.log(r);
}
