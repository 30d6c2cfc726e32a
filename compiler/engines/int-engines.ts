// Integer engines for `edgeq run`: the bundle's runtime.wasm in V8 and the integer
// reference, both driven through compiler/generate.ts. They produce int32 logits and
// sample with the integer sampler (docs/integer-spec.md §3.12), so the Engine/TokenPicker
// pair is adapted: forward() runs the step, the picker samples from the engine's own
// last logits (the float array generate() passes along is unused).
import type { Engine, TokenPicker } from '../generate.ts';
import { IntTransformer, Xorshift64Star, sampleInt } from '../../runtime/reference/model.ts';
import type { WasmRuntime } from './wasm-runtime.ts';
import { usageError } from '../util/errors.ts';

const NONE = new Float32Array(0);

/** Temperature and top-p as the integer sampler takes them: round(v * 2^16). */
export function samplerQ16(temperature: number, topp: number): { temperatureQ: number; toppQ: number } {
  const bad = samplerProblem(temperature, topp);
  if (bad) throw usageError(bad);
  return { temperatureQ: Math.round(temperature * 65536), toppQ: Math.round(topp * 65536) };
}

/**
 * What the integer sampler (docs/integer-spec.md §3.12) can represent: T_q = round(T·2¹⁶) and
 * P_q = round(p·2¹⁶) are int32 (the ABI's sample(i32, i32)), so T ≤ 32767; a T or p in
 * (0, 2⁻¹⁶) would round to 0 and silently mean "greedy" / "top-p off". Every engine and the
 * float reference refuse the same values (edgeq run checks them before choosing an engine).
 */
export const SAMPLER_LIMITS = { maxTemperature: 32767, minPositive: 2 ** -16 } as const;

/** The one-line refusal for sampler values the integer sampler cannot hold, or null. */
export function samplerProblem(temperature: number, topp: number): string | null {
  const { maxTemperature, minPositive } = SAMPLER_LIMITS;
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > maxTemperature) {
    return `--temperature must be 0 (greedy) or in [2^-16, ${maxTemperature}] (the integer sampler holds it as temperature·2^16 in an int32), got ${temperature}`;
  }
  if (temperature > 0 && temperature < minPositive) return `--temperature ${temperature} is below 2^-16 (${minPositive.toPrecision(3)}), the smallest the integer sampler can hold; use 0 for greedy`;
  if (!Number.isFinite(topp) || topp < 0 || topp > 1) return `--topp must be in [0, 1], got ${topp}`;
  if (topp > 0 && topp < minPositive) return `--topp ${topp} is below 2^-16 (${minPositive.toPrecision(3)}), the smallest the integer sampler can hold; use 0 (off) or at least 2^-16`;
  return null;
}

/** The seed's (lo, hi) uint32 words, as the ABI's seed(lo, hi) takes them. */
export function seedWords(seed: number | bigint): { lo: number; hi: number } {
  const s = BigInt(seed);
  return { lo: Number(s & 0xffffffffn) | 0, hi: Number((s >> 32n) & 0xffffffffn) | 0 };
}

export interface IntEngine extends Engine { picker(temperature: number, topp: number, seed: number): TokenPicker }

export function wasmEngine(rt: WasmRuntime, config: { vocabSize: number; seqLen: number }): IntEngine {
  return {
    config,
    forward(token, pos) { rt.forward(token, pos); return NONE; },
    picker(temperature, topp, seed) {
      const { temperatureQ, toppQ } = samplerQ16(temperature, topp);
      rt.seed(BigInt(seed));
      return { sample: () => rt.sample(temperatureQ, toppQ) };
    },
  };
}

export function intReferenceEngine(it: IntTransformer): IntEngine {
  let last: Int32Array = new Int32Array(0);
  return {
    config: it.model.params,
    forward(token, pos) { last = it.forward(token, pos); return NONE; },
    picker(temperature, topp, seed) {
      const { temperatureQ, toppQ } = samplerQ16(temperature, topp);
      const { lo, hi } = seedWords(seed);
      const rng = new Xorshift64Star(lo, hi);
      return { sample: () => it.sample(last, temperatureQ, toppQ, rng) };
    },
  };
}

/**
 * Q16 int32 logits from `forward` (an adapted model: the training runtime's lora_forward or
 * the integer reference trainer) as an IntEngine: the integer sampler (§3.12) on its last
 * logits, with the model's exp2 table, seeded as the other integer engines are.
 */
export function q16LogitsEngine(config: { vocabSize: number; seqLen: number }, forward: (token: number, pos: number) => Int32Array, exp2: Int16Array): IntEngine {
  let last: Int32Array = new Int32Array(0);
  return {
    config,
    forward(token, pos) { last = forward(token, pos); return NONE; },
    picker(temperature, topp, seed) {
      const { temperatureQ, toppQ } = samplerQ16(temperature, topp);
      const { lo, hi } = seedWords(seed);
      const rng = new Xorshift64Star(lo, hi);
      return { sample: () => sampleInt(last, exp2, temperatureQ, toppQ, rng) };
    },
  };
}
