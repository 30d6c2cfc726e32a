// `edgeq inspect`: what is in a checkpoint — format, shape, parameter counts per tensor
// kind and per block, byte accounting — after the same validation compile and run do,
// plus (by default) a streamed check that every weight is finite.
import type { Command } from 'commander';
import { openModel } from '../../import/open-model.ts';
import { checkFinite } from '../../import/finite.ts';
import { headSize, kvDim, type Graph } from '../../import/graph.ts';
import { llama2cLayout, type Llama2cFormat } from '../../import/llama2c-format.ts';
import { blockParams, paramRows, totalParams } from '../../import/params.ts';
import { progressReporter } from '../progress.ts';

interface Opts { json?: boolean; finiteCheck: boolean }

const fmt = (n: number) => n.toLocaleString('en-US');
const pct = (n: number, total: number) => `${((100 * n) / total).toFixed(1)}%`;

/** Everything inspect reports, as plain data (this is the --json output). */
export function inspectData(g: Graph, finite: boolean | null) {
  const c = g.config;
  const total = totalParams(c);
  // Byte accounting is llama2.c's layout; other formats report the file size only.
  const isLlama2c = g.source.format === 'llama2c-v0' || g.source.format === 'llama2c-v1';
  const layout = isLlama2c ? llama2cLayout(c, g.source.format.replace('llama2c-', '') as Llama2cFormat) : undefined;
  const weightBytes = layout ? layout.regions.filter((r) => r.weight).reduce((s, r) => s + r.bytes, 0) : 0;
  return {
    file: g.source.path,
    format: g.source.format,
    config: { ...c, headSize: headSize(c), kvDim: kvDim(c) },
    params: {
      tensors: paramRows(c).map((r) => ({ name: r.name, shape: r.shape, params: r.params, count: r.count, total: r.params * r.count })),
      perBlock: blockParams(c),
      blocks: c.nLayers,
      total,
    },
    bytes: {
      file: g.source.bytes,
      header: layout ? layout.headerBytes : null,
      weights: layout ? weightBytes : null,
      /** v0 only: the stored RoPE cos/sin tables, which edgeq does not use. */
      ropeTables: layout ? layout.totalBytes - layout.headerBytes - weightBytes : null,
      float32: total * 4,
    },
    finite,
  };
}

function table(rows: string[][], rightAligned: boolean[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (rightAligned[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
    .join('  ').trimEnd()).join('\n');
}

function render(d: ReturnType<typeof inspectData>): string {
  const c = d.config;
  const fmtName = d.format === 'llama2c-v0' ? 'llama2.c v0 (legacy: 28-byte header, stores RoPE tables)'
    : d.format === 'llama2c-v1' ? 'llama2.c v1 (export.py --version 1: 256-byte header)'
      : d.format === 'gguf' ? 'GGUF (llama.cpp)' : 'Hugging Face safetensors';
  const rows: string[][] = [['tensor', 'shape', 'params', 'x', 'total', 'share']];
  const t = d.params.total;
  const rowOf = (name: string, shape: number[], params: number, count: number | string, total: number) =>
    [name, shape.join(' x '), fmt(params), String(count), fmt(total), pct(total, t)];
  const ps = d.params.tensors;
  const global = (name: string) => ps.find((p) => p.name === name)!;
  const emb = global('tok_embeddings');
  rows.push(rowOf(emb.name, emb.shape, emb.params, 1, emb.total));
  for (const p of ps.filter((p) => !['tok_embeddings', 'rms_final', 'wcls'].includes(p.name))) {
    rows.push(rowOf(`  ${p.name}`, p.shape, p.params, p.count, p.total));
  }
  rows.push(['  block', '', fmt(d.params.perBlock), String(d.params.blocks), fmt(d.params.perBlock * d.params.blocks), pct(d.params.perBlock * d.params.blocks, t)]);
  const fin = global('rms_final');
  rows.push(rowOf(fin.name, fin.shape, fin.params, 1, fin.total));
  const cls = global('wcls');
  rows.push(cls.count === 0 ? ['wcls', 'shared', '0', '0', '0', '0.0%'] : rowOf(cls.name, cls.shape, cls.params, 1, cls.total));
  rows.push(['total', '', '', '', fmt(t), '100.0%']);
  const b = d.bytes;
  const byteParts = b.header === null ? [] : [`header ${fmt(b.header)}`, `float32 weights ${fmt(b.weights!)}`];
  if (b.ropeTables) byteParts.push(`RoPE tables ${fmt(b.ropeTables)} (unused)`);
  const finite = d.finite === null ? 'not checked (--no-finite-check)' : `all ${fmt(t)} values finite`;
  return [
    `file        ${d.file}`,
    `format      ${fmtName}`,
    `shape       dim ${c.dim}, hidden ${c.hiddenDim}, layers ${c.nLayers}, heads ${c.nHeads}, kv heads ${c.nKvHeads}, ` +
      `head size ${c.headSize}, kv dim ${c.kvDim}, vocab ${c.vocabSize}, seq len ${c.seqLen}`,
    `classifier  ${c.sharedClassifier ? 'shared with the token embedding' : 'separate matrix (wcls)'}`,
    '',
    table(rows, [false, false, true, true, true, true]),
    '',
    `bytes       file ${fmt(b.file)}${byteParts.length ? ` = ${byteParts.join(' + ')}` : ''}`,
    `weights     ${finite}`,
  ].join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('inspect')
    .summary('show a checkpoint\'s format, shape, parameter counts and sizes')
    .description(
      'Validate a model (llama2.c v0/v1, GGUF or Hugging Face safetensors) and describe it: format, shape, parameters per tensor kind and per ' +
      'block, and byte accounting. Fails with the file, byte offset and reason if the file is malformed, including ' +
      'any NaN or infinite weight (the whole file is streamed for that check unless --no-finite-check).')
    .argument('<checkpoint>', 'a model: llama2.c .bin, GGUF (.gguf), .safetensors beside config.json, or a Hugging Face directory (detected from the content)')
    .option('--json', 'print the same information as one JSON object on stdout')
    .option('--no-finite-check', 'skip streaming through the weights to check that all are finite (header and size are still checked)')
    .addHelpText('after', '\nExamples:\n  edgeq inspect ../shared/models/stories260K.bin\n  edgeq inspect --json model.bin | jq .params.total')
    .action((file: string, opts: Opts) => {
      const g = openModel(file);
      let finite: boolean | null = null;
      if (opts.finiteCheck) {
        const progress = progressReporter(`checking ${file}`);
        checkFinite(g, (done, total) => progress.update(done * 4, total * 4));
        progress.done();
        finite = true;
      }
      const d = inspectData(g, finite);
      process.stdout.write(opts.json ? JSON.stringify(d, null, 2) + '\n' : render(d));
    });
}
