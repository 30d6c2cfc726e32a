// Special-token partition (llama.cpp's tokenizer_st_partition): before the text is
// tokenized, occurrences of special tokens are cut out and become those tokens. User-
// defined tokens are always cut out; control and unknown tokens only with parseSpecial.
// Longer specials go first, so "<|endoftext|>" wins over a shorter token inside it.
import { isCSpace } from './bytes.ts';

export interface SpecialToken {
  id: number;
  /** The token's text as a byte string. */
  text: string;
  /** Control or unknown token (matched only with parseSpecial). */
  control: boolean;
  /** Swallow white space before (lstrip) / after (rstrip) the token. */
  lstrip: boolean;
  rstrip: boolean;
}

/** A piece of text (byte string) to tokenize, or a token id already decided. */
export type Fragment = string | number;

/** Orders specials as llama.cpp does (longest text first; ties by id for determinism). */
export function sortSpecials(specials: SpecialToken[]): SpecialToken[] {
  return specials.filter((s) => s.text.length > 0)
    .sort((a, b) => b.text.length - a.text.length || a.id - b.id);
}

export function partitionSpecial(text: string, specials: SpecialToken[], parseSpecial: boolean): Fragment[] {
  let fragments: Fragment[] = text.length > 0 ? [text] : [];
  for (const sp of specials) {
    if (sp.control && !parseSpecial) continue;
    const next: Fragment[] = [];
    for (const f of fragments) {
      if (typeof f === 'number' || !f.includes(sp.text)) { next.push(f); continue; }
      let rest = f;
      for (;;) {
        const at = rest.indexOf(sp.text);
        if (at < 0) { if (rest.length > 0) next.push(rest); break; }
        let left = rest.slice(0, at);
        if (sp.lstrip) while (left.length > 0 && isCSpace(left.charCodeAt(left.length - 1))) left = left.slice(0, -1);
        if (left.length > 0) next.push(left);
        next.push(sp.id);
        rest = rest.slice(at + sp.text.length);
        if (sp.rstrip) while (rest.length > 0 && isCSpace(rest.charCodeAt(0))) rest = rest.slice(1);
      }
    }
    fragments = next;
  }
  return fragments;
}
