// A TextTokenizer from a Hugging Face tokenizer.json (plus tokenizer_config.json for BOS/EOS
// when present). Two shapes are read, the ones the supported models use:
//  - byte-level BPE (Llama-3, SmolLM2, Qwen2, GPT-2): pre_tokenizer ByteLevel, or a Sequence
//    of Split(Regex, Isolated) / Digits and ByteLevel(use_regex false); normalizer none or NFC;
//  - SentencePiece-style BPE (Llama-2, TinyLlama): normalizer Prepend("▁") + Replace(" ", "▁")
//    or pre_tokenizer Metaspace, merges, byte_fallback.
// Any other component is refused naming its JSON path and type.
import { readFileSync } from 'node:fs';
import { EdgeqError } from '../../util/errors.ts';
import { BpeTokenizer } from './bpe.ts';
import { compilePatterns } from './pre-tokenizers.ts';
import { TokenType, type TextTokenizer } from './text-tokenizer.ts';

/** HF ByteLevel's own split expression (GPT-2's, with the trailing \s+ alternative). */
const BYTE_LEVEL_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

type Json = Record<string, any>;

/** Names tried, in order, for BOS and EOS when no tokenizer_config.json says. */
const BOS_NAMES = ['<s>', '<|begin_of_text|>', '<|endoftext|>', '<|im_start|>'];
const EOS_NAMES = ['</s>', '<|end_of_text|>', '<|endoftext|>', '<|im_end|>'];

export function readHfTokenizer(tokenizerJsonPath: string, configPath?: string): TextTokenizer {
  const read = (p: string): Json => {
    try { return JSON.parse(readFileSync(p, 'utf8')); } catch (e) {
      throw new EdgeqError(`cannot read it as JSON: ${(e as Error).message}`, { file: p });
    }
  };
  return hfTokenizer(read(tokenizerJsonPath), configPath ? read(configPath) : undefined, tokenizerJsonPath);
}

export function hfTokenizer(json: Json, config: Json | undefined, file: string): TextTokenizer {
  const bad = (path: string, what: string) => new EdgeqError(`${path}: ${what}`, { file });
  const model = json.model;
  if (!model || model.type !== 'BPE') {
    throw bad('model.type', `unsupported tokenizer model ${JSON.stringify(model?.type)}; supported: BPE (byte-level or SentencePiece-style)`);
  }
  if (typeof model.vocab !== 'object' || model.vocab === null) throw bad('model.vocab', 'expected an object of token -> id');

  // Vocabulary: model.vocab plus added_tokens (special ones are control tokens).
  const entries: [string, number, number][] = Object.entries(model.vocab as Record<string, number>)
    .map(([t, id]) => [t, id, /^<0x[0-9A-F]{2}>$/.test(t) && model.byte_fallback ? TokenType.BYTE : TokenType.NORMAL]);
  const strip = new Map<number, { lstrip: boolean; rstrip: boolean }>();
  for (const a of json.added_tokens ?? []) {
    entries.push([a.content, a.id, a.special ? TokenType.CONTROL : TokenType.USER_DEFINED]);
    if (a.lstrip || a.rstrip) strip.set(a.id, { lstrip: !!a.lstrip, rstrip: !!a.rstrip });
  }
  let n = 0;
  for (const [t, id] of entries) {
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) throw bad('model.vocab', `token ${JSON.stringify(t)} has id ${id}`);
    n = Math.max(n, id + 1);
  }
  const texts = new Array<string>(n).fill('');
  const types = new Uint8Array(n).fill(TokenType.UNUSED);
  for (const [t, id, type] of entries) { texts[id] = t; types[id] = type; }

  const merges: string[] = (model.merges ?? []).map((m: string | string[], i: number) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2) return `${m[0]} ${m[1]}`;
    throw bad(`model.merges[${i}]`, 'expected "left right" or [left, right]');
  });

  // Normalizer.
  let spaceMark = false, nfc = false;
  for (const [i, nm] of flatten(json.normalizer, 'normalizers').entries()) {
    const where = `normalizer[${i}]`;
    if (nm.type === 'Prepend' && nm.prepend === '\u2581') spaceMark = true;
    else if (nm.type === 'Replace' && nm.pattern?.String === ' ' && nm.content === '\u2581') spaceMark = true;
    else if (nm.type === 'NFC') nfc = true;
    else throw bad(where, `unsupported normalizer ${JSON.stringify(nm.type)}; supported: Prepend("▁"), Replace(" ", "▁"), NFC`);
  }

  // Pre-tokenizer.
  const patterns: string[] = [];
  let byteLevel = false, addPrefixSpace = false;
  for (const [i, pt] of flatten(json.pre_tokenizer, 'pretokenizers').entries()) {
    const where = `pre_tokenizer[${i}]`;
    if (pt.type === 'ByteLevel') {
      byteLevel = true;
      addPrefixSpace = !!pt.add_prefix_space;
      if (pt.use_regex !== false) patterns.push(BYTE_LEVEL_REGEX);
    } else if (pt.type === 'Split' && typeof pt.pattern?.Regex === 'string') {
      if (pt.behavior !== 'Isolated' || pt.invert) throw bad(where, `unsupported Split behavior ${JSON.stringify(pt.behavior)}${pt.invert ? ' (inverted)' : ''}; supported: Isolated`);
      patterns.push(caseInsensitiveGroups(pt.pattern.Regex));
    } else if (pt.type === 'Digits') {
      patterns.push(pt.individual_digits ? '\\p{N}' : '\\p{N}+');
    } else if (pt.type === 'Metaspace' && (pt.replacement ?? '\u2581') === '\u2581') {
      if (pt.prepend_scheme !== undefined && pt.prepend_scheme !== 'first' && pt.prepend_scheme !== 'always') {
        throw bad(where, `unsupported Metaspace prepend_scheme ${JSON.stringify(pt.prepend_scheme)}`);
      }
      spaceMark = true;
      if (pt.split) patterns.push('\u2581[^\u2581]*|[^\u2581]+');
    } else {
      throw bad(where, `unsupported pre-tokenizer ${JSON.stringify(pt.type)}; supported: ByteLevel, Split (Regex, Isolated), Digits, Metaspace`);
    }
  }
  if (!byteLevel && !spaceMark) throw bad('pre_tokenizer', 'neither byte-level nor SentencePiece-style ("▁"): not a supported BPE shape');

  try { compilePatterns(patterns); } catch (e) { throw bad('pre_tokenizer', `cannot compile its expression: ${(e as Error).message}`); }

  const byText = new Map<string, number>();
  texts.forEach((t, id) => { if (types[id] !== TokenType.UNUSED) byText.set(t, id); });
  const special = (key: string, names: string[]): number => {
    const v = config?.[key];
    const name = typeof v === 'string' ? v : typeof v?.content === 'string' ? v.content : undefined;
    if (name !== undefined) {
      const id = byText.get(name);
      if (id === undefined) throw new EdgeqError(`tokenizer_config.json ${key} ${JSON.stringify(name)} is not in the vocabulary`, { file });
      return id;
    }
    for (const nm of names) { const id = byText.get(nm); if (id !== undefined) return id; }
    return -1;
  };

  return new BpeTokenizer({ texts, types }, {
    bosId: special('bos_token', BOS_NAMES),
    eosId: special('eos_token', EOS_NAMES),
    merges,
    patterns,
    byteLevel,
    spaceMark,
    nfc,
    addPrefixSpace,
    byteFallback: !!model.byte_fallback,
    ignoreMerges: !!model.ignore_merges,
    stripAround: strip,
  });
}

// A component or a {type: "Sequence", <key>: [...]} of them, as a list.
function flatten(c: Json | null | undefined, key: string): Json[] {
  if (!c) return [];
  if (c.type === 'Sequence') return (c[key] ?? []).flatMap((x: Json) => flatten(x, key));
  return [c];
}

/** Rewrites Oniguruma's (?i:...) groups, which JS lacks, by spelling out both cases of each letter. */
export function caseInsensitiveGroups(pattern: string): string {
  return pattern.replace(/\(\?i:([^()]*)\)/g, (_, body: string) => {
    // Only plain alternatives of letters and apostrophes (the contractions group) are rewritten.
    if (!/^[A-Za-z'|]*$/.test(body)) throw new Error(`(?i:${body}) is not supported (only letters, ' and |)`);
    return '(?:' + body.replace(/[A-Za-z]/g, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`) + ')';
  });
}
