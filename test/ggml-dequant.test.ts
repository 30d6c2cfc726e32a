// GGUF tensor dequantization against the peer itself: llama.cpp's ggml-quants.c (from the
// tarball in ../shared/peers) is compiled with a small driver (helpers/ggml-dequant-oracle.c)
// and run on the same random blocks; every output float must have the same bits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MODELS, ROOT } from './helpers/models.ts';
import { dequantize, halfToFloat } from '../compiler/import/gguf/ggml-dequant.ts';
import { ggmlTypeByName, type GgmlType } from '../compiler/import/gguf/ggml-types.ts';

const PEERS = resolve(MODELS, '../peers');
const dir = mkdtempSync(join(tmpdir(), 'edgeq-dequant-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

let oracle = '';
test.before(() => {
  execFileSync('tar', ['-xzf', join(PEERS, 'llama.cpp-c392e50.tar.gz'), '-C', dir, '--wildcards',
    'llama.cpp/ggml/include/*', 'llama.cpp/ggml/src/*.h', 'llama.cpp/ggml/src/ggml-quants.c']); // src/*.h also matches src/ggml-cpu/*.h
  const g = join(dir, 'llama.cpp/ggml');
  oracle = join(dir, 'oracle');
  execFileSync('gcc', ['-O1', '-ffp-contract=off', '-w', '-I', `${g}/include`, '-I', `${g}/src`, '-I', `${g}/src/ggml-cpu`,
    join(ROOT, 'test/helpers/ggml-dequant-oracle.c'), `${g}/src/ggml-quants.c`, '-lm', '-o', oracle]);
});

function peer(type: GgmlType, bytes: Uint8Array): Float32Array {
  const inp = join(dir, `${type.name}.in`), out = join(dir, `${type.name}.out`);
  writeFileSync(inp, bytes);
  execFileSync(oracle, [String(type.id), inp, out]);
  const b = readFileSync(out);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

// xorshift32: reproducible bytes without a dependency.
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

/** Random blocks whose half-precision scale fields are finite (as real files' are). */
function randomBlocks(type: GgmlType, nBlocks: number, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new Uint8Array(nBlocks * type.blockBytes);
  for (let i = 0; i < b.length; i++) b[i] = r() & 0xff;
  for (let k = 0; k < nBlocks; k++) {
    let o = k * type.blockBytes;
    for (const [name, size] of type.fields) {
      if (size === 2 && ['d', 'dmin', 'm'].includes(name)) {
        // exponents 1..24 (normal), or 0 (subnormal) now and then; random sign and mantissa
        const x = r();
        const exp = x % 7 === 0 ? 0 : 1 + (x >>> 3) % 24;
        const h = ((x >>> 16) & 0x8000) | (exp << 10) | ((x >>> 5) & 0x3ff);
        b[o] = h & 0xff; b[o + 1] = h >> 8;
      }
      o += size;
    }
  }
  return b;
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

for (const name of ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_NL']) {
  test(`${name}: same float32 bits as ggml's dequantize_row`, () => {
    const type = ggmlTypeByName(name)!;
    const bytes = randomBlocks(type, 96, 0x9e3779b9 ^ type.id);
    const ours = dequantize(type, bytes, { file: 'test', tensor: name });
    const theirs = peer(type, bytes);
    assert.is(ours.length, theirs.length);
    const a = bits(ours), b = bits(theirs);
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) assert.unreachable(`${name} element ${i}: ours ${ours[i]} (0x${a[i].toString(16)}), ggml ${theirs[i]} (0x${b[i].toString(16)})`);
    }
  });
}

test('F16 and BF16: every one of the 65536 bit patterns widens like ggml', () => {
  const all = new Uint8Array(65536 * 2);
  for (let i = 0; i < 65536; i++) { all[2 * i] = i & 0xff; all[2 * i + 1] = i >> 8; }
  for (const name of ['F16', 'BF16']) {
    const type = ggmlTypeByName(name)!;
    const ours = dequantize(type, all, { file: 'test', tensor: name }), theirs = peer(type, all);
    const a = bits(ours), b = bits(theirs);
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(theirs[i])) { assert.ok(Number.isNaN(ours[i]), `${name} 0x${i.toString(16)}`); continue; }
      if (a[i] !== b[i]) assert.unreachable(`${name} 0x${i.toString(16)}: ours ${ours[i]}, ggml ${theirs[i]}`);
    }
  }
  // A few halves by hand (IEEE 754 binary16).
  assert.is(halfToFloat(0x3c00), 1);
  assert.is(halfToFloat(0xc000), -2);
  assert.is(halfToFloat(0x0001), 2 ** -24);
  assert.is(halfToFloat(0x7bff), 65504);
});

test('F32 passes through; an unsupported type is refused naming the tensor', () => {
  const f = new Float32Array([1.5, -2, 3e-39]);
  assert.equal([...dequantize(ggmlTypeByName('F32')!, new Uint8Array(f.buffer), { file: 'x', tensor: 't' })], [...f]);
  const iq2 = ggmlTypeByName('IQ2_XXS')!;
  assert.throws(() => dequantize(iq2, new Uint8Array(iq2.blockBytes), { file: 'm.gguf', tensor: 'blk.0.ffn_up.weight', offset: 64 }),
    /m\.gguf at byte 64: tensor 'blk\.0\.ffn_up\.weight' has ggml type IQ2_XXS, which edgeq does not read; supported: F32, F16, BF16, Q4_0/);
});

test.run();
