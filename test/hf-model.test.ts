// Hugging Face reader: stories260K and babyllama936K written as HF directories by the
// project's writer (hf-write.ts: q/k permuted like transformers' converter) read back to
// the llama2.c file's weights (F32: same bits; BF16/F16: within rounding) and greedy
// tokens; single-file, directory and sharded forms; and one test per kind of bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, cpSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from './helpers/models.ts';
import { cli } from './helpers/cli.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { writeGraphHf } from '../compiler/import/hf/hf-write.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { greedy } from './helpers/greedy.ts';
import { fails } from './helpers/expect-error.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-hf-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const m of ['stories260K', 'babyllama936K']) {
  const src = openModel(model(`${m}.bin`));
  const refTokens = greedy(loadWeights(src), 64);
  for (const dtype of ['F32', 'BF16'] as const) {
    test(`${m} as HF ${dtype}: q/k un-permuted, weights ${dtype === 'F32' ? 'bit-identical' : 'within BF16 rounding'}, same greedy tokens`, () => {
      const d = join(dir, `${m}-${dtype}`);
      writeGraphHf(d, src, dtype);
      const g = openModel(d);
      assert.is(g.source.format, 'hf-safetensors');
      assert.equal(g.config, src.config);
      for (const [name, t] of src.tensors) {
        const a = t.read(), b = g.tensors.get(name)!.read();
        for (let i = 0; i < a.length; i++) {
          const bound = dtype === 'F32' ? 0 : Math.abs(a[i]) * 2 ** -8;
          if (!(Math.abs(a[i] - b[i]) <= bound)) assert.unreachable(`${name}[${i}]: ${b[i]} vs ${a[i]}`);
        }
        // readRange across a head boundary agrees with read() (permuted tensors)
        const n = a.length, s = Math.floor(n / 3), c = Math.min(777, n - s);
        assert.equal([...g.tensors.get(name)!.readRange!(s, c)], [...b.subarray(s, s + c)], name);
      }
      assert.equal(greedy(loadWeights(g), 64), refTokens);
    });
  }
}

test('sharded with an index, and a single .safetensors file beside config.json, read the same', () => {
  const src = openModel(model('stories260K.bin'));
  const d = join(dir, 'sharded');
  writeGraphHf(d, src, 'F32', { shards: 3 });
  const g = openModel(d);
  const one = openModel(join(dir, 'stories260K-F32', 'model.safetensors'));
  for (const name of src.tensors.keys()) {
    assert.equal([...g.tensors.get(name)!.read()], [...one.tensors.get(name)!.read()], name);
  }
});

test('edgeq run --engine reference --temperature 0 on HF F32 and BF16 prints the llama2.c file\'s text', async () => {
  const args = (p: string) => ['run', p, '--engine', 'reference', '--temperature', '0', '--positions', '48', '--tokenizer', model('tok512.bin')];
  const want = await cli(args(model('stories260K.bin')));
  for (const dtype of ['F32', 'BF16']) {
    const got = await cli(args(join(dir, `stories260K-${dtype}`)));
    assert.is(got.status, 0, got.stderr);
    assert.is(got.stdout, want.stdout);
  }
});

// ---- bad inputs ----
let k = 0;
function copyModel(): string {
  const d = join(dir, `bad${k++}`);
  cpSync(join(dir, 'stories260K-F32'), d, { recursive: true });
  return d;
}
const editConfig = (d: string, edit: (c: Record<string, unknown>) => void) => {
  const p = join(d, 'config.json');
  const c = JSON.parse(readFileSync(p, 'utf8'));
  edit(c);
  writeFileSync(p, JSON.stringify(c));
};

test('missing config key, unsupported architecture, RoPE variant, llama3 scaling', () => {
  let d = copyModel();
  editConfig(d, (c) => { delete c.num_hidden_layers; });
  fails(() => openModel(d), join(d, 'config.json'), /config\.json has no key "num_hidden_layers" \(expected a positive integer\)/);
  d = copyModel();
  editConfig(d, (c) => { c.architectures = ['Qwen2ForCausalLM']; });
  fails(() => openModel(d), join(d, 'config.json'), /"architectures" is \["Qwen2ForCausalLM"\]; edgeq reads LlamaForCausalLM, MistralForCausalLM/);
  d = copyModel();
  editConfig(d, (c) => { c.rope_theta = 0.5; });
  fails(() => openModel(d), join(d, 'config.json'), /"rope_theta" is 0\.5; edgeq's forward pass supports a finite base > 1/);
  d = copyModel();
  editConfig(d, (c) => { c.rope_scaling = { rope_type: 'yarn', factor: 8 }; });
  fails(() => openModel(d), join(d, 'config.json'), /"rope_scaling" type "yarn" is not supported; edgeq reads none, default, linear or llama3/);
  d = copyModel();
  editConfig(d, (c) => { c.rope_scaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 }; });
  fails(() => openModel(d), join(d, 'config.json'), /"rope_scaling" \(llama3\) has no positive number "original_max_position_embeddings"/);
});

test('index naming a missing shard; truncated tensor data; shape disagreeing with config; unsupported dtype', () => {
  const d = join(dir, 'sharded2');
  writeGraphHf(d, openModel(model('stories260K.bin')), 'F32', { shards: 2 });
  rmSync(join(d, 'model-00002-of-00002.safetensors'));
  fails(() => openModel(d), join(d, 'model.safetensors.index.json'), /weight_map names shard model-00002-of-00002\.safetensors, which does not exist/);
  let m = copyModel();
  const st = join(m, 'model.safetensors');
  truncateSync(st, statSync(st).size - 100);
  fails(() => openModel(m), st, /tensor '.*' data at bytes \d+\.\.\d+ lies past the end of the file/);
  m = copyModel();
  editConfig(m, (c) => { c.intermediate_size = 176; });
  fails(() => openModel(m), join(m, 'model.safetensors'), /tensor 'model\.layers\.0\.mlp\.gate_proj\.weight' has shape \[172, 64\] but config\.json implies \[176, 64\]/);
  m = copyModel();
  const b = readFileSync(join(m, 'model.safetensors'));
  const hl = Number(b.readBigUInt64LE(0));
  const hdr = b.subarray(8, 8 + hl).toString('utf8').replace('"F32"', '"I8" ');
  b.write(hdr, 8, 'utf8');
  writeFileSync(join(m, 'model.safetensors'), b);
  fails(() => openModel(m), join(m, 'model.safetensors'), /has dtype "I8"; edgeq reads F32, F16, BF16/);
});

test.run();
