// The README's main job: get a real small model (or say plainly why not), compile it for
// a device and run it. Every step is an ordinary `edgeq` command, printed before it runs,
// so this file doubles as a worked example.
//
// Where the model comes from, in order:
//   1. $EDGEQ_MODELS or ../shared/models (a development checkout has the real checkpoints)
//   2. the cache, ~/.cache/edgeq (or $EDGEQ_CACHE), from an earlier download
//   3. a download of karpathy's stories260K (the published tinyllamas checkpoint)
//   4. offline: a synthetic checkpoint of the same shape (seeded random weights: the text
//      it prints is gibberish, but every step of the pipeline runs)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const EDGEQ = join(ROOT, 'bin/edgeq.mjs');
const CACHE = process.env.EDGEQ_CACHE ?? join(homedir(), '.cache', 'edgeq');
const OUT = join(ROOT, 'out');
const URLS = {
  model: 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin',
  tokenizer: 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/tok512.bin',
};

function edgeq(...args: string[]): void {
  console.error(`\n$ edgeq ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [EDGEQ, ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

async function download(url: string, path: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const tmp = `${path}.download`;
  writeFileSync(tmp, new Uint8Array(await res.arrayBuffer()));
  renameSync(tmp, path);
}

async function findModel(): Promise<{ model: string; tokenizer: string; real: boolean }> {
  // An explicit $EDGEQ_MODELS is the only place looked at (set it to an empty folder to
  // try the download and offline paths on a development machine).
  for (const dir of process.env.EDGEQ_MODELS !== undefined ? [process.env.EDGEQ_MODELS] : [resolve(ROOT, '../shared/models')]) {
    if ( existsSync(join(dir, 'stories260K.bin')) && existsSync(join(dir, 'tok512.bin'))) {
      console.error(`using the trained stories260K from ${dir}`);
      return { model: join(dir, 'stories260K.bin'), tokenizer: join(dir, 'tok512.bin'), real: true };
    }
  }
  const model = join(CACHE, 'stories260K.bin');
  const tokenizer = join(CACHE, 'tok512.bin');
  if (existsSync(model) && existsSync(tokenizer)) {
    console.error(`using the trained stories260K cached in ${CACHE}`);
    return { model, tokenizer, real: true };
  }
  mkdirSync(CACHE, { recursive: true });
  try {
    console.error(`downloading stories260K (1 MB) into ${CACHE} ...`);
    await download(URLS.model, model);
    await download(URLS.tokenizer, tokenizer);
    return { model, tokenizer, real: true };
  } catch (e) {
    rmSync(model, { force: true });
    rmSync(tokenizer, { force: true });
    console.error(`could not download (${(e as Error).message}): no network?`);
    console.error('OFFLINE FALLBACK: using a SYNTHETIC checkpoint of the stories260K shape (random weights).');
    console.error('Every step below runs for real, but the generated text is gibberish.');
    const synth = join(OUT, 'synthetic');
    edgeq('synth', '--shape', 'stories260K', '--seed', '1', '-o', join(synth, 'stories260K-synthetic.bin'),
      '--tokenizer', join(synth, 'tok512-synthetic.bin'));
    return { model: join(synth, 'stories260K-synthetic.bin'), tokenizer: join(synth, 'tok512-synthetic.bin'), real: false };
  }
}

const { model, tokenizer, real } = await findModel();
const bundle = join(OUT, real ? 'stories260K-int8' : 'stories260K-synthetic-int8');
edgeq('inspect', model);
// int8 weights with GPTQ rounding, for a generic WebAssembly host (V8 here, SIMD kernels);
// the tokenizer goes into the bundle so the device can print text by itself.
edgeq('compile', model, '--target', 'wasm32', '--plan', 'uniform:8', '--gptq', '--tokenizer', tokenizer, '-o', bundle);
// The bundle's integer-only runtime.wasm, greedy, as llama2.c would print it.
edgeq('run', bundle, '--temperature', '0', '--positions', '128', ...(real ? [] : ['--prompt', 'Once upon a time']));
console.error(`
The bundle is in ${bundle}. Next: \`npx edgeq verify ${bundle}\` checks it on every engine, ` +
  `\`npx edgeq flash ${bundle} --board mps2-an386\` boots it on an emulated Cortex-M4, ` +
  `\`npx edgeq finetune ${bundle} --data <your text> --steps 300 -o out/mine.edqa\` adapts it to a text with integers only ` +
  `(then \`npx edgeq run ${bundle} --adapter out/mine.edqa\`).`);
