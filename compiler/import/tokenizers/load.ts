// A tokenizer file of any supported kind, detected from its content (not its name):
// a GGUF file (its tokenizer.ggml.* metadata), an HF tokenizer.json (with the
// tokenizer_config.json next to it, when present, for BOS/EOS), or llama2.c's tokenizer.bin.
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EdgeqError } from '../../util/errors.ts';
import { checkInputFile } from '../../util/input-file.ts';
import { isGgufMagic, readGguf } from '../gguf/gguf-file.ts';
import { Tokenizer } from '../tokenizer.ts';
import { tokenizerFromGguf } from './from-gguf.ts';
import { readHfTokenizer } from './from-hf.ts';
import type { TextTokenizer } from './text-tokenizer.ts';

export function loadTokenizerFile(path: string): TextTokenizer {
  // A FIFO or a device would block or never end: refused before it is opened.
  checkInputFile(path, 'a tokenizer (llama2.c tokenizer.bin, a GGUF file or an HF tokenizer.json)');
  const head = new Uint8Array(16);
  let n: number;
  try {
    const fd = openSync(path, 'r');
    try { n = readSync(fd, head, 0, head.length, 0); } finally { closeSync(fd); }
  } catch (e) {
    throw new EdgeqError(`cannot read the tokenizer: ${(e as Error).message}`, { file: path });
  }
  if (n >= 4 && isGgufMagic(head)) return tokenizerFromGguf(readGguf(path));
  const first = head.subarray(0, n).find((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09);
  if (first === 0x7b /* { */) {
    const config = join(dirname(path), 'tokenizer_config.json');
    return readHfTokenizer(path, existsSync(config) ? config : undefined);
  }
  return Tokenizer.load(path);
}
