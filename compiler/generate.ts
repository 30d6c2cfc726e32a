// Text generation, the loop of llama2.c's `generate()` (run.c), written once for every
// engine: the float reference today, the integer reference and the wasm runtime later.
// An engine only has to turn (token, position) into logits.
import { safePrint } from './import/tokenizer.ts';
import type { TextTokenizer } from './import/tokenizers/text-tokenizer.ts';

export interface Engine {
  readonly config: { readonly vocabSize: number; readonly seqLen: number };
  /**
   * Logits for the next token after `token` at position `pos`. Called with pos = 0, 1, 2...
   * in order (engines keep a KV cache). The returned array may be reused by the next call.
   */
  forward(token: number, pos: number): Float32Array;
}

/** Anything that picks a token from logits (see reference/float/sampler.ts). */
export interface TokenPicker {
  sample(logits: Float32Array): number;
}

export interface GenerateOptions {
  /** Text to continue; '' starts from BOS alone. */
  prompt?: string;
  /** Positions to run; 0 or more than the context means the whole context, as llama2.c. */
  steps: number;
  /**
   * Receives each piece's printable bytes (safe_printf's choice) as soon as it is known,
   * prompt pieces included. Returning false stops generation (e.g. stdout was closed).
   */
  onPiece?: (bytes: Uint8Array) => boolean | void;
}

export interface GenerateResult {
  /** BOS, the prompt tokens and the generated ones, in order. */
  tokens: number[];
  /** Every printed byte, concatenated. */
  text: Uint8Array;
  /** Forward passes run. */
  positions: number;
  /** llama2.c's "achieved tok/s": timed from the end of the first step; null if < 2 steps. */
  tokensPerSecond: number | null;
}

/** llama2.c's step rule: 0 or beyond the context length means the context length. */
export function clampSteps(steps: number, seqLen: number): number {
  return steps <= 0 || steps > seqLen ? seqLen : steps;
}

/**
 * The bytes printed for `token` after `prevToken`: run.c's safe_printf drops single
 * non-printable bytes; other kinds print every byte (their byte tokens are pieces of UTF-8
 * characters).
 */
export function printedBytes(tokenizer: TextTokenizer, prevToken: number, token: number): Uint8Array {
  const piece = tokenizer.decode(prevToken, token);
  return tokenizer.kind === 'llama2c' ? safePrint(piece) : piece;
}

/** One generated token: its id and the bytes printed for it (safe_printf's choice for llama2.c vocabularies). */
export interface GeneratedPiece { token: number; bytes: Uint8Array }

/**
 * The generation loop, one piece at a time: prompt pieces first (forced), then sampled ones,
 * until `steps` positions ran or the model ended the text. Shared by generate() (the CLI) and
 * the JavaScript API's streaming generate (compiler/api/), so both print the same text.
 * `promptTokens` starts with BOS; the generator returns the number of positions run.
 */
export function* pieces(engine: Engine, tokenizer: TextTokenizer, sampler: TokenPicker, promptTokens: number[], steps: number): Generator<GeneratedPiece, number> {
  let token = promptTokens[0];
  let pos = 0;
  while (pos < steps) {
    const logits = engine.forward(token, pos);
    // While inside the prompt the next token is forced; after it, sampled.
    const next = pos < promptTokens.length - 1 ? promptTokens[pos + 1] : sampler.sample(logits);
    pos++;
    // BOS delimits sequences: the model saying BOS means the story is over. run.c does
    // not stop at EOS; vocabularies from GGUF/HF end a text with it, so those stop there.
    if (next === tokenizer.bosId || (tokenizer.kind !== 'llama2c' && next === tokenizer.eosId)) break;
    const bytes = printedBytes(tokenizer, token, next);
    token = next;
    yield { token: next, bytes };
  }
  return pos;
}

export function generate(engine: Engine, tokenizer: TextTokenizer, sampler: TokenPicker, opts: GenerateOptions): GenerateResult {
  const steps = clampSteps(opts.steps, engine.config.seqLen);
  const prompt = tokenizer.encode(opts.prompt ?? '', { bos: true });
  const tokens = [prompt[0]];
  const printed: Uint8Array[] = [];
  let start: number | null = null;
  const it = pieces(engine, tokenizer, sampler, prompt, steps);
  let pos = 0;
  for (;;) {
    const r = it.next();
    if (r.done) { pos = r.value; break; }
    printed.push(r.value.bytes);
    tokens.push(r.value.token);
    // The first step is slower (warm-up), so llama2.c starts its clock after it.
    start ??= performance.now();
    // Stopped here, the positions run are the pieces printed (one position per piece).
    if (opts.onPiece?.(r.value.bytes) === false) { pos = tokens.length - 1; break; }
  }
  const elapsed = start === null ? 0 : performance.now() - start;
  return {
    tokens,
    text: Buffer.concat(printed),
    positions: pos,
    tokensPerSecond: pos > 1 && elapsed > 0 ? ((pos - 1) / elapsed) * 1000 : null,
  };
}
