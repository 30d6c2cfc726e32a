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

export function generate(engine: Engine, tokenizer: TextTokenizer, sampler: TokenPicker, opts: GenerateOptions): GenerateResult {
  const steps = clampSteps(opts.steps, engine.config.seqLen);
  const prompt = tokenizer.encode(opts.prompt ?? '', { bos: true });
  const tokens = [prompt[0]];
  const printed: Uint8Array[] = [];
  let token = prompt[0];
  let pos = 0;
  let start: number | null = null;
  while (pos < steps) {
    const logits = engine.forward(token, pos);
    // While inside the prompt the next token is forced; after it, sampled.
    const next = pos < prompt.length - 1 ? prompt[pos + 1] : sampler.sample(logits);
    pos++;
    // BOS delimits sequences: the model saying BOS means the story is over. run.c does
    // not stop at EOS; vocabularies from GGUF/HF end a text with it, so those stop there.
    if (next === tokenizer.bosId || (tokenizer.kind !== 'llama2c' && next === tokenizer.eosId)) break;
    // run.c's safe_printf drops single non-printable bytes; other kinds print every byte
    // (their byte tokens are pieces of UTF-8 characters).
    const piece = tokenizer.decode(token, next);
    const bytes = tokenizer.kind === 'llama2c' ? safePrint(piece) : piece;
    printed.push(bytes);
    tokens.push(next);
    token = next;
    // The first step is slower (warm-up), so llama2.c starts its clock after it.
    start ??= performance.now();
    if (opts.onPiece?.(bytes) === false) break;
  }
  const elapsed = start === null ? 0 : performance.now() - start;
  return {
    tokens,
    text: Buffer.concat(printed),
    positions: pos,
    tokensPerSecond: pos > 1 && elapsed > 0 ? ((pos - 1) / elapsed) * 1000 : null,
  };
}
