// The JavaScript API from Node, as docs/api.md shows it: load a bundle written by
// `edgeq compile --tokenizer`, stream 32 greedy tokens (the text of `edgeq run <dir>
// --temperature 0 --positions 32`), then fine-tune a few steps on a text and generate again.
//   node examples/api-node.mjs <bundle dir> [training text file]
import { readFile } from 'node:fs/promises';
import { loadBundle } from 'edgeq';

const [dir, textFile] = process.argv.slice(2);
const read = (name) => readFile(`${dir}/${name}`);
const model = await loadBundle({
  model: await read('model.edgeq'),
  runtime: await read('runtime.wasm'),
  manifest: await read('manifest.json'), // sizes and sha256 checked before anything runs
});

for await (const t of model.generate('', { maxTokens: 32, temperature: 0 })) process.stdout.write(t.text);
process.stdout.write('\n');

if (textFile) {
  const { adapter, sha256, losses } = await model.finetune(await readFile(textFile, 'utf8'), {
    steps: 5,
    onProgress: ({ step, steps, loss }) => process.stderr.write(`step ${step}/${steps} loss ${loss.toFixed(4)}\n`),
  });
  process.stderr.write(`adapter ${adapter.length} bytes, sha256 ${sha256}, loss ${losses[0].toFixed(3)} -> ${losses.at(-1).toFixed(3)}\n`);
  await model.applyAdapter(adapter);
  process.stdout.write(await model.generate('', { maxTokens: 32, temperature: 0 }).text() + '\n');
}
