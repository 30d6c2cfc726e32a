// The op registry: every op kind the int8 runtime implements, each defined once in
// compiler/ops/kinds/<kind>.ts (op-def.ts says what a definition holds). Listed here in
// OpKind order (schemas/edgeq.fbs), which is the order the runtime generator emits
// dispatch cases in. OpKind values without an entry (copy) have no kernel: a program
// using one is refused by the lowering's caller, the interpreter and the runtime generator.
import type { ArtifactOp, ArtifactRef, OpKindName } from '../emit/artifact-contents.ts';
import { EdgeqError } from '../util/errors.ts';
import type { OpDef } from './op-def.ts';
import type { ParamRule } from './param-rules.ts';
import { attention } from './kinds/attention.ts';
import { embed } from './kinds/embed.ts';
import { classifier, gemv } from './kinds/gemv.ts';
import { gemv_lut } from './kinds/gemv_lut.ts';
import { gemv_vq } from './kinds/gemv_vq.ts';
import { kv_store } from './kinds/kv_store.ts';
import { kv_store_q } from './kinds/kv_store_q.ts';
import { attention_q } from './kinds/attention_q.ts';
import { hadamard } from './kinds/hadamard.ts';
import { lut_tables } from './kinds/lut_tables.ts';
import { requantize } from './kinds/requantize.ts';
import { residual_add } from './kinds/residual_add.ts';
import { rmsnorm } from './kinds/rmsnorm.ts';
import { rope } from './kinds/rope.ts';
import { swiglu } from './kinds/swiglu.ts';

/** Every defined op kind, in OpKind order. */
export const OP_DEFS: readonly OpDef[] = [
  embed, rmsnorm, gemv, rope, attention, swiglu, residual_add, classifier, kv_store, requantize, lut_tables, gemv_lut,
  kv_store_q, attention_q, hadamard, gemv_vq,
];

const BY_KIND = new Map<string, OpDef>(OP_DEFS.map((d) => [d.kind, d]));

/** The definition of `kind`, or undefined when no kernel implements it. */
export function findOp(kind: string): OpDef | undefined { return BY_KIND.get(kind); }

/** The definition of `kind`; throws naming the defined kinds otherwise. */
export function opDef(kind: string): OpDef {
  const d = BY_KIND.get(kind);
  if (!d) throw new EdgeqError(`no op kind "${kind}" is defined (compiler/ops/kinds: ${OP_DEFS.map((x) => x.kind).join(', ')})`);
  return d;
}

/**
 * An op of `kind` with its params given by name (the lowering's builder): the params are
 * put in the definition's order; a missing or unknown name is a bug in the caller.
 */
export function buildOp(kind: OpKindName, name: string, inputs: ArtifactRef[], outputs: ArtifactRef[], params: Record<string, number>): ArtifactOp {
  const d = opDef(kind);
  const known = new Set(d.params.map((p) => p.name));
  for (const k of Object.keys(params)) if (!known.has(k)) throw new EdgeqError(`op ${name} (${kind}): no param "${k}" (params: ${[...known].join(', ')})`, {}, 70);
  const ordered = d.params.map((p) => {
    const v = params[p.name];
    if (v === undefined) throw new EdgeqError(`op ${name} (${kind}): param "${p.name}" missing`, {}, 70);
    return v;
  });
  return { kind, inputs, outputs, params: ordered, name };
}

/** An op's params by name (the definition's names); throws when the count differs. */
export function paramsOf(op: Pick<ArtifactOp, 'kind' | 'params' | 'name'>): Record<string, number> {
  const d = opDef(op.kind);
  if (op.params.length !== d.params.length) {
    throw new EdgeqError(`op ${op.name ?? ''} (${op.kind}): ${op.params.length} params, expected ${d.params.length} (${d.params.map((p) => p.name).join(', ')})`);
  }
  return Object.fromEntries(d.params.map((p, i) => [p.name, op.params[i]]));
}

/**
 * Each param's rules in the order they are checked, here and on the device (the generated
 * runtime/assembly/op-param-checks.ts): every param's own rules first, then the relations
 * (rules naming another param), each in the definition's order.
 */
export function ruleOrder(d: OpDef): Array<{ param: string; rule: ParamRule }> {
  const all = d.params.flatMap((p) => (p.rules ?? []).map((rule) => ({ param: p.name, rule })));
  return [...all.filter((x) => x.rule.refs.length === 0), ...all.filter((x) => x.rule.refs.length > 0)];
}

/** Why the op's params are not admissible (the first failing rule), or null. */
export function checkParams(op: Pick<ArtifactOp, 'kind' | 'params' | 'name'>): string | null {
  const d = opDef(op.kind);
  // An op kind gains a param when the format grows (kv_store_q's kBlock): a bundle written
  // before that has one fewer, so say what to do about it.
  if (op.params.length !== d.params.length) return `${op.params.length} params, expected ${d.params.length} (${d.params.map((p) => p.name).join(', ')}); a bundle compiled by an older edgeq: compile it again`;
  const all = paramsOf(op);
  for (const { param, rule } of ruleOrder(d)) {
    if (!rule.test(all[param], all)) return `param ${param} = ${all[param]} ${rule.why(all, param)}`;
  }
  return null;
}
