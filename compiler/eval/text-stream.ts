// A token stream from plain text for teacher-forced evaluation: the text's paragraphs
// (separated by blank lines) encoded one by one with the model's tokenizer
// (llama2.c: run.c encode, dummy-prefix space; no BOS/EOS) and concatenated. Paragraphs the
// tokenizer cannot encode (a byte with no piece in a small vocabulary) are skipped and
// counted, so a character-level vocabulary still gets a clean stream.
import { readInputFile } from '../util/input-file.ts';
import { loadTokenizerFile } from '../import/tokenizers/load.ts';
import type { TextTokenizer } from '../import/tokenizers/text-tokenizer.ts';
import { EdgeqError } from '../util/errors.ts';

/** The file as text; a byte sequence that is not UTF-8 is an error naming its offset. */
export function readUtf8(path: string): string {
  const bytes = readInputFile(path, 'a UTF-8 text file', { maxBytes: 1 << 30 });
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Find the first bad sequence by decoding growing prefixes' valid part.
    let lo = 0, hi = bytes.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      try { new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true }); lo = mid; } catch { hi = mid; }
    }
    throw new EdgeqError('not UTF-8 text: invalid byte sequence', { file: path, offset: lo });
  }
}

export interface TextStream { tokens: number[]; paragraphs: number; skipped: number }

export function textTokens(tokenizerPath: string, textPath: string, maxTokens: number): TextStream {
  return encodeParagraphs(loadTokenizerFile(tokenizerPath), readUtf8(textPath), maxTokens);
}

/** The paragraphs of `text` encoded one by one and concatenated, up to `maxTokens`. */
export function encodeParagraphs(tok: TextTokenizer, text: string, maxTokens: number): TextStream {
  const tokens: number[] = [];
  let paragraphs = 0, skipped = 0;
  for (const para of text.split(/\n\s*\n/)) {
    const p = para.replace(/\s+/g, ' ').trim();
    if (!p) continue;
    let ids: number[];
    try { ids = tok.encode(p); } catch (e) { if (e instanceof EdgeqError) { skipped++; continue; } throw e; }
    for (const id of ids) { if (tokens.length >= maxTokens) break; tokens.push(id); }
    paragraphs++;
    if (tokens.length >= maxTokens) break;
  }
  return { tokens, paragraphs, skipped };
}
