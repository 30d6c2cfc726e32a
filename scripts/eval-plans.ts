// Accuracy of low-bit plans on the real models (issue 5): for each model and plan, compile
// a bundle (`edgeq compile --plan ...`) and measure it with `edgeq eval --json` against the
// float reference, teacher-forced on TinyStories text. Prints a Markdown table (the one in
// README.md) and one JSON line per run. Usage:
//   npm run eval:plans [-- --tokens 20000] [--model stories260K] [--plans uniform:8,uniform:4]
//   npm run eval:plans -- --ewq [--tokens 20000] [--damage-tokens 2000] [--save out/eval-plans-20k]
//     EWQ vs uniform at equal size (scripts/eval-ewq.ts): 8,4 / 4,2 / 4,3 mixes whose lowered
//     blocks are chosen by softmax entropy (EWQ), code-histogram entropy, measured damage on
//     calibration tokens, or the opposite of EWQ; --save writes <prefix>.md and <prefix>.json.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: {
  tokens: { type: 'string', default: '20000' },
  model: { type: 'string' },
  plans: { type: 'string', default: 'uniform:8,uniform:4,uniform:3,uniform:2' },
  out: { type: 'string', default: join(ROOT, 'out/eval-plans') },
  ewq: { type: 'boolean', default: false },
  'damage-tokens': { type: 'string', default: '2000' },
  save: { type: 'string' },
} });
if (values.ewq) {
  const { evalEwq } = await import('./eval-ewq.ts');
  await evalEwq({ tokens: values.tokens!, damageTokens: values['damage-tokens']!, model: values.model, out: values.out!, save: values.save });
  process.exit(0);
}
const models = process.env.EDGEQ_MODELS ?? resolve(ROOT, '../shared/models');
const MODELS: Array<[string, string]> = [['stories260K', 'tok512.bin'], ['babyllama936K', 'tok105.bin']];
const edgeq = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/edgeq.mjs', ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`edgeq ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
};

const rows: string[] = [];
for (const [name, tok] of MODELS) {
  if (values.model && values.model !== name) continue;
  const ckpt = join(models, `${name}.bin`);
  if (!existsSync(ckpt)) { console.error(`eval-plans: ${ckpt} not found, skipped`); continue; }
  for (const plan of values.plans!.split(/,(?!cls)/)) { // ",cls<b>" belongs to the plan before it
    const dir = join(values.out!, `${name}-${plan.replace(/[^\w]/g, '_')}`);
    const t0 = Date.now();
    edgeq('compile', ckpt, '--target', 'wasm32', '--plan', plan, '--tokenizer', join(models, tok), '--vectors', '0', '-o', dir);
    const compileSec = (Date.now() - t0) / 1000;
    const j = JSON.parse(edgeq('eval', dir, '--reference', ckpt, '--text', join(models, 'tinystories-valid-head.txt'), '--tokens', values.tokens!, '--json'));
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const bytes = manifest.files['model.edgeq'].size;
    console.log(JSON.stringify({ model: name, plan: manifest.plan, bytes, compileSec, ...j }));
    rows.push(`| ${name} | ${manifest.plan} | ${(bytes / 1024).toFixed(0)} KiB | ${(100 * j.top1).toFixed(2)}% | ${j.kl.toFixed(4)} | ${j.ppl_ref.toFixed(3)} | ${j.ppl.toFixed(3)} |`);
  }
}
console.log(`\nteacher-forced, ${values.tokens} tokens of tinystories-valid-head.txt (edgeq eval --json):\n`);
console.log('| model | plan | model.edgeq | top-1 agreement | mean KL(float ‖ bundle) | ppl float | ppl bundle |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
