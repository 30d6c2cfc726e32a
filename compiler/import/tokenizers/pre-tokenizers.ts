// Pre-tokenizers: regular expressions that cut text into words before BPE runs on each
// word, one list per name GGUF's `tokenizer.ggml.pre` uses (llama.cpp's llm_tokenizer_bpe).
// Each expression splits every piece the previous one left, keeping both the matches and
// the text between them (HF's "Isolated" split).
//
// White space is Unicode's White_Space set as llama.cpp's tables have it, written out
// because JS's \s differs (it includes U+FEFF and lacks U+0085). \p{L} and \p{N} are
// JS's Unicode property classes (same Unicode data up to the version of the tables).
import { EdgeqError } from '../../util/errors.ts';

const WS = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** Rewrites \s / \S in a pattern to the explicit White_Space set (inside and outside classes). */
export function explicitWhiteSpace(pattern: string): string {
  let out = '', inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) {
      const n = pattern[i + 1];
      if (n === 's') out += inClass ? WS : `[${WS}]`;
      else if (n === 'S') {
        if (inClass) throw new Error(`\\S inside a character class is not supported: ${pattern}`);
        out += `[^${WS}]`;
      } else out += c + n;
      i++;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** The pattern lists, by the names llama.cpp accepts for them. */
const BY_NAME: Record<string, string[]> = {};
const alias = (names: string[], patterns: string[]) => { for (const n of names) BY_NAME[n] = patterns; };
alias(['gpt-2', 'phi-2', 'roberta-bpe', 'mpt', 'olmo', 'jais'], [GPT2]);
alias(['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'dbrx', 'smaug-bpe'], [LLAMA3]);
alias(['qwen2', 'deepseek-r1-qwen', 'megrez', 'stablelm2'], [QWEN2]);
alias(['smollm', 'starcoder', 'refact', 'command-r', 'codeshell', 'exaone', 'minerva-7b'], ['\\p{N}', GPT2]);
alias(['default'], ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]']);

/** Pre-tokenizers whose vocabulary looks a whole word up before merging (llama.cpp's ignore_merges). */
const IGNORE_MERGES = new Set(['llama3', 'llama-v3', 'llama-bpe', 'falcon3']);

export const knownPreTokenizers = (): string[] => Object.keys(BY_NAME).sort();

export interface PreTokenizer {
  name: string;
  patterns: string[];
  ignoreMerges: boolean;
}

export function compilePatterns(patterns: string[]): RegExp[] {
  return patterns.map((p) => new RegExp(explicitWhiteSpace(p), 'gu'));
}

export function preTokenizerByName(name: string): PreTokenizer {
  const patterns = BY_NAME[name];
  if (!patterns) {
    throw new EdgeqError(`unsupported pre-tokenizer "${name}" (tokenizer.ggml.pre); supported: ${knownPreTokenizers().join(', ')}`);
  }
  return { name, patterns, ignoreMerges: IGNORE_MERGES.has(name) };
}

/** Applies the patterns in turn; every piece of text is kept (matches and the gaps between). */
export function splitWords(text: string, patterns: RegExp[]): string[] {
  let pieces = text.length > 0 ? [text] : [];
  for (const re of patterns) {
    const next: string[] = [];
    for (const piece of pieces) {
      let at = 0;
      re.lastIndex = 0;
      for (let m = re.exec(piece); m; m = re.exec(piece)) {
        if (m[0].length === 0) { re.lastIndex++; continue; }
        if (m.index > at) next.push(piece.slice(at, m.index));
        next.push(m[0]);
        at = m.index + m[0].length;
      }
      if (at < piece.length) next.push(piece.slice(at));
    }
    pieces = next;
  }
  return pieces;
}
