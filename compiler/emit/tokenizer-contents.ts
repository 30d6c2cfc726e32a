// The tokenizer as the artifact stores it, and back: one place that knows how each
// TextTokenizer kind maps onto schemas/edgeq.fbs's Tokenizer table.
//   llama2c: pieces and scores exactly as before the general fields existed (same bytes).
//   spm/bpe: pieces = each token's display bytes (what the device runtime prints), plus the
//            texts, token types, merges, pre-tokenizer and option bits a host needs to encode.
import { TokenizerOption } from '../../schemas/generated/edgeq/fb/tokenizer-option.ts';
import { Tokenizer } from '../import/tokenizer.ts';
import { BpeTokenizer } from '../import/tokenizers/bpe.ts';
import { SpmTokenizer } from '../import/tokenizers/spm.ts';
import type { TextTokenizer } from '../import/tokenizers/text-tokenizer.ts';
import { EdgeqError } from '../util/errors.ts';
import type { ArtifactTokenizer } from './artifact-contents.ts';

const SCORE_FRAC_BITS = 16;
/** bos_id/eos_id are unsigned in the artifact: "none" (-1) is stored as all ones. */
const NO_ID = 0xffffffff;

const fixedScore = (s: number) => {
  const lim = 2 ** 31 - 1;
  return Math.max(-lim, Math.min(lim, Math.round(s * 2 ** SCORE_FRAC_BITS)));
};

export function tokenizerContents(t: TextTokenizer): ArtifactTokenizer {
  if (t instanceof Tokenizer) {
    return {
      pieces: t.pieces.map((p) => p.slice()),
      scores: Array.from(t.scores, fixedScore),
      scoreFracBits: SCORE_FRAC_BITS,
      hostScores: Array.from(t.scores),
      maxTokenLength: t.maxTokenLength,
      bosId: 1,
      eosId: 2,
    };
  }
  if (!(t instanceof SpmTokenizer) && !(t instanceof BpeTokenizer)) throw new Error(`internal: no artifact form for tokenizer kind ${t.kind}`);
  const pieces = Array.from({ length: t.vocabSize }, (_, id) => Uint8Array.from(t.tokenBytes(id)));
  const scores = t instanceof SpmTokenizer ? Array.from(t.vocab.scores!) : [];
  let options = 0;
  if (t instanceof SpmTokenizer) {
    if (t.addSpacePrefix) options |= TokenizerOption.space_prefix;
  } else {
    const o = t.opts;
    if (o.spaceMark) options |= TokenizerOption.space_prefix;
    if (o.byteLevel) options |= TokenizerOption.byte_level;
    if (o.byteFallback) options |= TokenizerOption.byte_fallback;
    if (o.ignoreMerges) options |= TokenizerOption.ignore_merges;
    if (o.nfc) options |= TokenizerOption.nfc;
    if (o.addPrefixSpace) options |= TokenizerOption.add_prefix_space;
  }
  return {
    pieces,
    scores: scores.map(fixedScore),
    scoreFracBits: SCORE_FRAC_BITS,
    hostScores: scores,
    maxTokenLength: Math.max(0, ...pieces.map((p) => p.length)),
    bosId: t.bosId < 0 ? NO_ID : t.bosId,
    eosId: t.eosId < 0 ? NO_ID : t.eosId,
    general: {
      kind: t.kind,
      texts: t.vocab.texts.slice(),
      tokenTypes: Array.from(t.vocab.types),
      merges: t instanceof BpeTokenizer ? t.opts.merges.slice() : [],
      prePatterns: t instanceof BpeTokenizer ? t.opts.patterns.slice() : [],
      preName: t instanceof BpeTokenizer ? t.opts.preName ?? '' : '',
      options,
    },
  };
}

/** The TextTokenizer an artifact's Tokenizer table describes. */
export function tokenizerFromContents(a: ArtifactTokenizer): TextTokenizer {
  const g = a.general;
  if (!g) {
    const scores = a.hostScores.length ? Float32Array.from(a.hostScores) : Float32Array.from(a.scores, (s) => s / 2 ** a.scoreFracBits);
    return new Tokenizer(a.pieces, scores, a.maxTokenLength);
  }
  const id = (v: number) => (v === NO_ID ? -1 : v);
  const types = g.tokenTypes.length ? Uint8Array.from(g.tokenTypes) : new Uint8Array(g.texts.length).fill(1);
  const has = (bit: number) => (g.options & bit) !== 0;
  if (g.kind === 'spm') {
    if (a.hostScores.length !== g.texts.length) throw new EdgeqError('the artifact\'s spm tokenizer has no float scores');
    return new SpmTokenizer({ texts: g.texts, scores: Float32Array.from(a.hostScores), types }, {
      bosId: id(a.bosId), eosId: id(a.eosId), addSpacePrefix: has(TokenizerOption.space_prefix),
    });
  }
  return new BpeTokenizer({ texts: g.texts, types }, {
    bosId: id(a.bosId),
    eosId: id(a.eosId),
    merges: g.merges,
    patterns: g.prePatterns,
    preName: g.preName,
    spaceMark: has(TokenizerOption.space_prefix),
    byteLevel: has(TokenizerOption.byte_level),
    byteFallback: has(TokenizerOption.byte_fallback),
    ignoreMerges: has(TokenizerOption.ignore_merges),
    nfc: has(TokenizerOption.nfc),
    addPrefixSpace: has(TokenizerOption.add_prefix_space),
  });
}
