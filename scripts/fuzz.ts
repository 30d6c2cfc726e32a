// `npm run fuzz -- [--cases N] [--seconds S] [--seed n] [--bundle dir ...] [--json] [--repro i]`
//
// Mutates real artifacts (model.edgeq) and feeds each one to the bundle's own runtime.wasm
// through the ABI every device uses (docs/runtime-abi.md): reserve + load (the verifier and
// the runtime's program checks), and, when load accepts, one forward step. Every case must
// end in a clean error code or a valid run: a trap (WebAssembly.RuntimeError) or a case
// slower than --slow-ms is a finding. Seeded: case i of seed s is the same mutation on every
// machine (`--repro i` replays one case and prints it).
//
// Mutations: bit flips, interesting bytes, u32 fields set to edge values, uoffsets pointed
// out of bounds / wrapped / elsewhere, vector lengths made huge or off by one, tensor
// shapes that disagree, op params / operand refs / kinds / config fields changed,
// truncation, extension, splices. Structure-aware mutations find their fields with the
// generated FlatBuffers reader, so they hit tables, not just weights.
//
// One instance serves many cases (re-instantiated after a trap and every --per-instance
// cases); every new instance first runs the untouched artifact and must reproduce the
// first instance's logits hash, so reuse cannot hide state carried between cases.
import * as flatbuffers from 'flatbuffers';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Model } from '../schemas/generated/edgeq/fb/model.ts';
import { VerifyError } from '../schemas/generated/edgeq/fb/verify-error.ts';
import { RUNTIME_ERRORS } from '../compiler/engines/wasm-runtime.ts';

const ROOT = resolve(import.meta.dirname, '..');

export interface FuzzTarget { name: string; wasm: Uint8Array; artifact: Uint8Array }

export interface FuzzOptions {
  cases: number;
  seconds: number;
  seed: number;
  /** Cases per instance before a fresh one (a trap always re-instantiates). */
  perInstance?: number;
  /** A case slower than this is a finding (the verifier's work is bounded by the artifact size). */
  slowMs?: number;
  /** Only this case index (reproduction). */
  only?: number;
  log?: (line: string) => void;
}

export interface Finding { target: string; case: number; mutation: string; outcome: string; detail: string; ms: number }

export interface FuzzReport {
  seed: number;
  cases: number;
  seconds: number;
  /** outcome → count; outcomes: "accepted, forward ok", "rejected: <code>", "forward error: <code>", "trap", "slow", "baseline mismatch". */
  outcomes: Record<string, number>;
  /** mutation kind → count. */
  mutations: Record<string, number>;
  perTarget: Record<string, number>;
  instances: number;
  maxCaseMs: number;
  meanCaseMs: number;
  findings: Finding[];
}

// ---------------------------------------------------------------------------------------
// Deterministic randomness: case i of seed s has its own stream (splitmix32).

function rng(seed: number, i: number) {
  let s = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
  const next = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const below = (n: number) => (n <= 0 ? 0 : next() % n);
  return { next, below, pick: <T>(a: readonly T[]): T => a[below(a.length)], chance: (p: number) => next() / 2 ** 32 < p };
}
type Rng = ReturnType<typeof rng>;

// ---------------------------------------------------------------------------------------
// Where things are in an artifact: found once per target with the generated reader.

interface Layout {
  len: number;
  /** [start, end) of every tensor's data bytes (the weights). */
  data: Array<[number, number]>;
  /** Byte positions of u32 vector lengths (the word before each vector). */
  vecLens: number[];
  /** Positions of u32 uoffsets (table fields pointing at tables/vectors/strings, vector elements of table vectors). */
  uoffsets: number[];
  /** Positions of u32 tensor dims. */
  dims: number[];
  /** Positions of i32 op params. */
  params: number[];
  /** Positions of u32 Ref.index of op inputs/outputs, and of the Ref kind bytes. */
  refIndex: number[];
  refKind: number[];
  /** Positions of op kind bytes. */
  opKinds: number[];
  /** Positions of u32 config fields and other scalar table fields. */
  scalars: number[];
  /** 4-aligned positions outside tensor data (tables, vtables, small vectors). */
  structural: number[];
  /** Position of the program's arena_size (0: absent). */
  arena: number;
}

function schemaVT(): Record<string, Record<string, number>> {
  const text = readFileSync(join(ROOT, 'runtime/assembly/generated/schema.ts'), 'utf8');
  const out: Record<string, Record<string, number>> = {};
  for (const m of text.matchAll(/export enum (\w+) \{([^}]*)\}/g)) {
    out[m[1]] = Object.fromEntries([...m[2].matchAll(/(\w+) = (\d+)/g)].map((x) => [x[1], Number(x[2])]));
  }
  return out;
}

export function layoutOf(a: Uint8Array): Layout {
  const VT = schemaVT();
  const bb = new flatbuffers.ByteBuffer(a);
  const m = Model.getRootAsModel(bb);
  const dv = new DataView(a.buffer, a.byteOffset, a.byteLength);
  const L: Layout = { len: a.length, data: [], vecLens: [], uoffsets: [], dims: [], params: [], refIndex: [], refKind: [], opKinds: [], scalars: [], structural: [], arena: 0 };
  const field = (table: number, vt: number): number => { const o = bb.__offset(table, vt); return o ? table + o : 0; };
  /** A uoffset field: record it and the vector length it leads to. */
  const offField = (table: number, vt: number, isVector: boolean): number => {
    const f = field(table, vt);
    if (!f) return 0;
    L.uoffsets.push(f);
    const target = f + dv.getUint32(f, true);
    if (isVector) L.vecLens.push(target);
    return target;
  };
  const tableVector = (table: number, vt: number): number[] => {
    const v = offField(table, vt, true);
    if (!v) return [];
    const n = dv.getUint32(v, true);
    const out: number[] = [];
    for (let i = 0; i < n; i++) { const e = v + 4 + 4 * i; L.uoffsets.push(e); out.push(e + dv.getUint32(e, true)); }
    return out;
  };
  L.uoffsets.push(0); // the root offset
  const root = m.bb_pos;
  const fv = field(root, VT.ModelVT.formatVersion); if (fv) L.scalars.push(fv);
  const cfg = offField(root, VT.ModelVT.config, false);
  if (cfg) for (const k of Object.values(VT.ModelConfigVT)) { const f = field(cfg, k); if (f) L.scalars.push(f); }
  for (const t of tableVector(root, VT.ModelVT.tensors)) {
    const shape = offField(t, VT.TensorVT.shape, true);
    if (shape) for (let j = 0; j < dv.getUint32(shape, true); j++) L.dims.push(shape + 4 + 4 * j);
    const data = offField(t, VT.TensorVT.data, true);
    if (data) L.data.push([data + 4, data + 4 + dv.getUint32(data, true)]);
    const dt = field(t, VT.TensorVT.dtype); if (dt) L.scalars.push(dt & ~3);
    const q = offField(t, VT.TensorVT.quant, false);
    if (q && VT.QuantVT) {
      for (const [k, vt] of Object.entries(VT.QuantVT)) {
        if (['multipliers', 'shifts', 'params', 'hostScales'].includes(k)) offField(q, vt, true);
        else { const f = field(q, vt); if (f) L.scalars.push(f & ~3); }
      }
    }
  }
  const prog = offField(root, VT.ModelVT.program, false);
  if (prog) {
    const ar = field(prog, VT.ProgramVT.arenaSize); if (ar) { L.scalars.push(ar); L.arena = ar; }
    for (const s of tableVector(prog, VT.ProgramVT.slots)) {
      for (const [k, vt] of Object.entries(VT.SlotVT ?? {})) {
        if (k === 'name') continue;
        if (k === 'shape') { const sh = offField(s, vt, true); if (sh) for (let j = 0; j < dv.getUint32(sh, true); j++) L.dims.push(sh + 4 + 4 * j); continue; }
        const f = field(s, vt); if (f) L.scalars.push(f & ~3);
      }
    }
    for (const op of tableVector(prog, VT.ProgramVT.ops)) {
      const k = field(op, VT.OpVT.kind); if (k) L.opKinds.push(k);
      for (const which of [VT.OpVT.inputs, VT.OpVT.outputs]) {
        const v = offField(op, which, true);
        if (!v) continue;
        // Ref is a struct: (kind: u8 + padding, index: u32), 8 bytes.
        for (let j = 0; j < dv.getUint32(v, true); j++) { L.refKind.push(v + 4 + 8 * j + (VT.RefLayout?.kind ?? 0)); L.refIndex.push(v + 4 + 8 * j + (VT.RefLayout?.index ?? 4)); }
      }
      const p = offField(op, VT.OpVT.params, true);
      if (p) for (let j = 0; j < dv.getUint32(p, true); j++) L.params.push(p + 4 + 4 * j);
    }
    offField(prog, VT.ProgramVT.outputs, true);
  }
  const tok = offField(root, VT.ModelVT.tokenizer, false);
  if (tok) {
    for (const piece of tableVector(tok, VT.TokenizerVT.pieces)) L.vecLens.push(piece); // string lengths
    offField(tok, VT.TokenizerVT.scores, true);
    offField(tok, VT.TokenizerVT.hostScores, true);
    for (const k of ['scoreFracBits', 'maxTokenLength', 'bosId', 'eosId']) { const f = field(tok, VT.TokenizerVT[k]); if (f) L.scalars.push(f & ~3); }
  }
  for (const c of tableVector(root, VT.ModelVT.conformance)) {
    offField(c, VT.ConformanceCaseVT.tokens, true);
    offField(c, VT.ConformanceCaseVT.outputHashes, true);
    for (const k of ['positions', 'hash', 'argmax']) { const f = field(c, VT.ConformanceCaseVT[k]); if (f) L.scalars.push(f & ~3); }
  }
  L.data.sort((x, y) => x[0] - y[0]);
  let d = 0;
  for (let p = 0; p + 4 <= a.length; p += 4) {
    while (d < L.data.length && L.data[d][1] <= p) d++;
    if (d < L.data.length && p >= L.data[d][0] && p < L.data[d][1]) { p = (L.data[d][1] + 3 & ~3) - 4; continue; }
    L.structural.push(p);
  }
  for (const k of ['vecLens', 'uoffsets', 'dims', 'params', 'refIndex', 'refKind', 'opKinds', 'scalars'] as const) {
    L[k] = [...new Set(L[k].filter((x) => x >= 0 && x + 1 <= a.length))];
  }
  return L;
}

/** Which known field byte `q` belongs to (for --repro). */
function describe(L: Layout, q: number): string {
  const w = q & ~3;
  const tags: Array<[keyof Layout, string]> = [['params', 'op param'], ['refIndex', 'op ref index'], ['dims', 'dim'], ['vecLens', 'vector length'], ['uoffsets', 'uoffset'], ['scalars', 'scalar field']];
  for (const [k, label] of tags) {
    const arr = L[k] as number[];
    const at = arr.indexOf(w);
    if (at >= 0) return ` (${label} #${at})`;
  }
  if (L.opKinds.includes(q)) return ` (op kind #${L.opKinds.indexOf(q)})`;
  if (L.refKind.includes(q)) return ' (op ref kind)';
  return L.data.some(([a, b]) => q >= a && q < b) ? ' (tensor data)' : '';
}

// ---------------------------------------------------------------------------------------
// Mutations. Each edits `buf` (a copy of the artifact, with spare room after it) and returns
// the new length.

const EDGE_U32 = [0, 1, 2, 3, 4, 7, 8, 15, 16, 255, 256, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff, 0x40000000, 0x20000000];
const EDGE_BYTE = [0, 1, 0x7f, 0x80, 0xfe, 0xff];

type Mutator = (b: Uint8Array, dv: DataView, len: number, L: Layout, r: Rng) => number;

const u32 = (dv: DataView, p: number) => dv.getUint32(p, true);
const set32 = (dv: DataView, p: number, v: number) => dv.setUint32(p, v >>> 0, true);
const edgeOr = (r: Rng, len: number, extra: number[] = []) => r.pick([...EDGE_U32, len, len - 4, len + 4, len >>> 1, ...extra, r.next()]);

export const MUTATORS: Record<string, Mutator> = {
  bitflip(b, _dv, len, L, r) {
    const n = 1 + r.below(3);
    for (let i = 0; i < n; i++) {
      const p = r.chance(0.6) && L.structural.length ? L.structural[r.below(L.structural.length)] + r.below(4) : r.below(len);
      b[p] ^= 1 << r.below(8);
    }
    return len;
  },
  byteset(b, _dv, len, L, r) {
    const p = r.chance(0.8) && L.structural.length ? L.structural[r.below(L.structural.length)] + r.below(4) : r.below(len);
    b[p] = r.pick(EDGE_BYTE);
    return len;
  },
  u32set(_b, dv, len, L, r) {
    if (!L.structural.length) return len;
    set32(dv, L.structural[r.below(L.structural.length)], edgeOr(r, len));
    return len;
  },
  uoffset(_b, dv, len, L, r) {
    if (!L.uoffsets.length) return len;
    const p = L.uoffsets[r.below(L.uoffsets.length)];
    const old = u32(dv, p);
    const choices = [len - p, len - p + 4, len - p + 64, 0xfffffffc, 0x80000000, 0, old + 4, old - 4, old + 1, (r.below(len) & ~3) - p, r.next()];
    set32(dv, p, r.pick(choices));
    return len;
  },
  veclen(_b, dv, len, L, r) {
    if (!L.vecLens.length) return len;
    const p = L.vecLens[r.below(L.vecLens.length)];
    const old = u32(dv, p);
    set32(dv, p, r.pick([old + 1, old - 1, old * 2, 0, 0x7fffffff, 0xffffffff, 0x40000000, 0x3fffffff, len, (len - p) >>> 2, (len - p) >>> 3, r.next()]));
    return len;
  },
  shape(_b, dv, len, L, r) {
    if (!L.dims.length) return len;
    const p = L.dims[r.below(L.dims.length)];
    const old = u32(dv, p);
    const other = u32(dv, L.dims[r.below(L.dims.length)]);
    set32(dv, p, r.pick([old + 1, old - 1, old * 2, old >>> 1, 0, 1, other, 0xffffffff, 0x10000, 0x80000000, r.next()]));
    if (r.chance(0.2)) { const q = L.dims[r.below(L.dims.length)]; const t = u32(dv, q); set32(dv, q, u32(dv, p)); set32(dv, p, t); }
    return len;
  },
  param(_b, dv, len, L, r) {
    if (!L.params.length) return len;
    const p = L.params[r.below(L.params.length)];
    const old = dv.getInt32(p, true);
    dv.setInt32(p, r.pick([old + 1, old - 1, -old, -1, 0, 1, 31, 32, 63, 64, -2147483648, 2147483647, old * 2, r.next() | 0]), true);
    return len;
  },
  opref(b, dv, len, L, r) {
    if (!L.refIndex.length) return len;
    const i = r.below(L.refIndex.length);
    if (r.chance(0.3)) b[L.refKind[i]] = r.below(6);
    else { const old = u32(dv, L.refIndex[i]); set32(dv, L.refIndex[i], r.pick([old + 1, old - 1, 0, 1, 1000, 0xffffffff, 0x7fffffff, r.below(256)])); }
    return len;
  },
  opkind(b, _dv, len, L, r) {
    if (!L.opKinds.length) return len;
    const p = L.opKinds[r.below(L.opKinds.length)];
    b[p] = r.chance(0.7) ? r.below(32) : r.next() & 0xff;
    return len;
  },
  config(_b, dv, len, L, r) {
    if (!L.scalars.length) return len;
    const p = L.scalars[r.below(L.scalars.length)];
    const old = u32(dv, p);
    set32(dv, p, r.pick([old + 1, old - 1, old * 2, old >>> 1, 0, 1, 0xffffffff, 0x80000000, 0x10000, r.next()]));
    return len;
  },
  truncate(_b, _dv, len, L, r) {
    if (r.chance(0.5) && L.structural.length) return L.structural[r.below(L.structural.length)] + r.below(4);
    return r.chance(0.3) ? r.below(Math.min(len, 64)) : r.below(len);
  },
  extend(b, _dv, len, _L, r) {
    const n = 1 + r.below(256);
    for (let i = 0; i < n; i++) b[len + i] = r.next() & 0xff;
    return len + n;
  },
  splice(b, _dv, len, L, r) {
    const n = 4 * (1 + r.below(8));
    const from = r.below(len - n), to = r.chance(0.7) && L.structural.length ? L.structural[r.below(L.structural.length)] : r.below(len - n);
    b.copyWithin(Math.min(to, len - n), from, from + n);
    return len;
  },
};
const MUTATION_NAMES = Object.keys(MUTATORS);

// ---------------------------------------------------------------------------------------
// The runtime under test.

interface Exports {
  memory: WebAssembly.Memory;
  reserve(len: number): number;
  load(len: number): number;
  forward(token: number, pos: number): number;
  logits_hash(): bigint;
  argmax(): number;
}

async function instantiate(module: WebAssembly.Module): Promise<Exports> {
  const inst = await WebAssembly.instantiate(module, { host: { print: () => {} } });
  return inst.exports as unknown as Exports;
}

export function codeName(code: number): string {
  const v = (VerifyError as unknown as Record<number, string>)[code];
  if (v) return v;
  const rt = RUNTIME_ERRORS[code];
  return rt ? rt.split(':')[0] : `code ${code}`;
}

interface Prepared { t: FuzzTarget; module: WebAssembly.Module; layout: Layout; baseline: bigint; config: { vocab: number; seqLen: number } }

function runCase(ex: Exports, bytes: Uint8Array, len: number, token: number, pos: number): { outcome: string; hash?: bigint } {
  const ptr = ex.reserve(len);
  if (ptr === 0) return { outcome: 'rejected: reserve returned 0' };
  new Uint8Array(ex.memory.buffer, ptr, len).set(bytes.subarray(0, len));
  const code = ex.load(len);
  if (code !== 0) return { outcome: `rejected: ${codeName(code)}` };
  const f = ex.forward(token, pos);
  if (f !== 0) return { outcome: `forward error: ${codeName(f)}` };
  ex.argmax();
  return { outcome: 'accepted, forward ok', hash: BigInt.asUintN(64, ex.logits_hash()) };
}

/**
 * Loads `t`'s artifact with its arena_size set to `arenaSize` in a fresh instance: the
 * outcome, and how many bytes load grew memory by (issue 18: an oversized arena must be
 * refused before memory grows).
 */
export async function arenaCase(t: FuzzTarget, arenaSize: number): Promise<{ outcome: string; grewBytes: number }> {
  const bytes = t.artifact.slice();
  const at = layoutOf(bytes).arena;
  if (!at) throw new Error(`${t.name}: no arena_size field`);
  new DataView(bytes.buffer).setUint32(at, arenaSize, true);
  const ex = await instantiate(await WebAssembly.compile(t.wasm as Uint8Array<ArrayBuffer>));
  const ptr = ex.reserve(bytes.length);
  new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
  const before = ex.memory.buffer.byteLength;
  const code = ex.load(bytes.length);
  return { outcome: code === 0 ? 'accepted' : `rejected: ${codeName(code)}`, grewBytes: ex.memory.buffer.byteLength - before };
}

/** The outcome of loading `bytes` (a mutant of `t`'s artifact) in a fresh instance of `t`'s runtime, and one step if it loads. */
export async function caseOutcome(t: FuzzTarget, bytes: Uint8Array): Promise<string> {
  const ex = await instantiate(await WebAssembly.compile(t.wasm as Uint8Array<ArrayBuffer>));
  try { return runCase(ex, bytes, bytes.length, 1, 0).outcome; } catch (e) { return e instanceof WebAssembly.RuntimeError ? 'trap' : `host exception: ${e}`; }
}

export async function fuzz(targets: FuzzTarget[], o: FuzzOptions): Promise<FuzzReport> {
  const perInstance = o.perInstance ?? 500;
  const slowMs = o.slowMs ?? 1000;
  const prepared: Prepared[] = [];
  for (const t of targets) {
    const module = await WebAssembly.compile(t.wasm as Uint8Array<ArrayBuffer>);
    const ex = await instantiate(module);
    const base = runCase(ex, t.artifact, t.artifact.length, 1, 0);
    if (base.hash === undefined) throw new Error(`${t.name}: the untouched artifact does not run: ${base.outcome}`);
    const m = Model.getRootAsModel(new flatbuffers.ByteBuffer(t.artifact));
    prepared.push({ t, module, layout: layoutOf(t.artifact), baseline: base.hash, config: { vocab: m.config()!.vocabSize(), seqLen: m.config()!.seqLen() } });
  }
  const report: FuzzReport = { seed: o.seed, cases: 0, seconds: 0, outcomes: {}, mutations: {}, perTarget: {}, instances: 0, maxCaseMs: 0, meanCaseMs: 0, findings: [] };
  const bump = (rec: Record<string, number>, k: string) => { rec[k] = (rec[k] ?? 0) + 1; };
  const state = prepared.map(() => ({ ex: null as Exports | null, used: 0 }));
  const scratch = prepared.map((p) => new Uint8Array(p.t.artifact.length + 512));
  const t0 = performance.now();
  let total = 0;
  const first = o.only ?? 0, last = o.only !== undefined ? o.only + 1 : o.cases;
  for (let i = first; i < last; i++) {
    if (o.only === undefined && (performance.now() - t0) / 1000 > o.seconds) break;
    const k = i % prepared.length;
    const P = prepared[k], S = state[k];
    if (!S.ex || S.used >= perInstance) {
      S.ex = await instantiate(P.module);
      S.used = 0;
      report.instances++;
      const base = runCase(S.ex, P.t.artifact, P.t.artifact.length, 1, 0);
      if (base.hash !== P.baseline) {
        bump(report.outcomes, 'baseline mismatch');
        report.findings.push({ target: P.t.name, case: i, mutation: '(none)', outcome: 'baseline mismatch', detail: base.outcome, ms: 0 });
      }
    }
    S.used++;
    const r = rng(o.seed, i);
    const buf = scratch[k];
    buf.set(P.t.artifact);
    const dv = new DataView(buf.buffer);
    // One to three stacked mutations; truncation, if any, last.
    const names: string[] = [];
    let len = P.t.artifact.length;
    const n = r.chance(0.7) ? 1 : 2 + r.below(2);
    for (let j = 0; j < n; j++) {
      const name = r.pick(MUTATION_NAMES);
      if (name === 'truncate' && j < n - 1) continue;
      len = Math.max(0, Math.min(buf.length, MUTATORS[name](buf, dv, len, P.layout, r)));
      names.push(name);
    }
    const token = r.chance(0.9) ? r.below(P.config.vocab) : r.pick([P.config.vocab, -1, 0x7fffffff]);
    const pos = r.chance(0.9) ? 0 : r.below(P.config.seqLen + 2);
    for (const nm of names) bump(report.mutations, nm);
    bump(report.perTarget, P.t.name);
    const c0 = performance.now();
    let outcome: string, detail = '';
    try {
      outcome = runCase(S.ex, buf, len, token, pos).outcome;
    } catch (e) {
      outcome = e instanceof WebAssembly.RuntimeError ? 'trap' : 'host exception';
      detail = o.only !== undefined ? String((e as Error)?.stack ?? e) : String((e as Error)?.message ?? e);
      S.ex = null; // a trapped instance is not reused
    }
    const ms = performance.now() - c0;
    total += ms;
    report.maxCaseMs = Math.max(report.maxCaseMs, ms);
    if (ms > slowMs) { bump(report.outcomes, 'slow'); report.findings.push({ target: P.t.name, case: i, mutation: names.join('+'), outcome: 'slow', detail: `${ms.toFixed(0)} ms`, ms }); }
    bump(report.outcomes, outcome);
    if (outcome === 'trap' || outcome === 'host exception') {
      report.findings.push({ target: P.t.name, case: i, mutation: names.join('+'), outcome, detail, ms });
    }
    if (o.only !== undefined) {
      const diffs: string[] = [];
      for (let q = 0; q < Math.min(len, P.t.artifact.length); q++) if (buf[q] !== P.t.artifact[q]) diffs.push(`byte ${q}: ${P.t.artifact[q]} -> ${buf[q]}${describe(P.layout, q)}`);
      o.log?.(`changed: ${diffs.slice(0, 20).join('; ') || '(no byte changed)'}${len !== P.t.artifact.length ? `; length ${P.t.artifact.length} -> ${len}` : ''}`);
    }
    if (o.only !== undefined) o.log?.(`case ${i} (${P.t.name}): ${names.join('+')} len ${len} token ${token} pos ${pos}: ${outcome}${detail ? ` (${detail})` : ''} in ${ms.toFixed(2)} ms`);
    report.cases++;
    if (o.log && report.cases % 10000 === 0) o.log(`fuzz: ${report.cases} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s, ${report.findings.length} findings`);
  }
  report.seconds = (performance.now() - t0) / 1000;
  report.meanCaseMs = report.cases ? total / report.cases : 0;
  return report;
}

// ---------------------------------------------------------------------------------------
// Targets: the stories260K bundle (real weights; its SIMD runtime and the scalar one the C
// hosts run), and a synthetic stories260K with a separate classifier for cortex-m. Built
// once and cached by the content of the sources, like the test bundles.

export async function defaultTargets(log?: (s: string) => void): Promise<FuzzTarget[]> {
  const { stories260KBundle, sourcesHash } = await import('../test/helpers/bundle.ts');
  const { haveModels } = await import('../test/helpers/models.ts');
  const { readBundle } = await import('../compiler/engines/engine.ts');
  const { runtimeFlavour } = await import('../compiler/engines/runtime-flavour.ts');
  const { cacheRoot } = await import('../compiler/engines/cache.ts');
  const out: FuzzTarget[] = [];
  if (haveModels) {
    const dir = await stories260KBundle('wasm32', 16);
    const b = readBundle(dir);
    out.push({ name: 'stories260K/simd', wasm: b.runtimeWasm, artifact: b.artifact });
    out.push({ name: 'stories260K/scalar', wasm: (await runtimeFlavour(b, false)).wasm, artifact: b.artifact });
  } else {
    log?.('fuzz: real models not found; synthetic targets only');
  }
  // The synthetic target has the rotated quantized KV cache with anchors
  // (k4v2,w4,anchors=2%,rot: hadamard on q and k, kv_store_q/attention_q with 11 anchor
  // slots and their state), so their params and operands are mutated too; the stories260K
  // ones have the k12v8 cache.
  const dir = join(cacheRoot(), 'fuzz-bundles', `synth260K-unshared-k4v2w4a2rot-${sourcesHash()}`);
  if (!existsSync(join(dir, 'runtime.wasm'))) {
    log?.('fuzz: building the synthetic target (once)...');
    const { quantizeInt8 } = await import('../compiler/quantize/int8.ts');
    const { SHAPES, synthWeights } = await import('../compiler/synth/synth.ts');
    const { bundleFromQuant } = await import('../compiler/bundle.ts');
    const { loadTarget } = await import('../compiler/target/profile.ts');
    const { parsePlan } = await import('../compiler/emit/from-quant.ts');
    const { parseKvFormat } = await import('../compiler/quantize/kv-cache.ts');
    const w = synthWeights({ ...SHAPES.stories260K, sharedClassifier: false }, 11);
    const qb = await bundleFromQuant({
      model: { ...quantizeInt8(w), kvCache: parseKvFormat('k4v2,w4,anchors=2%,rot') }, target: loadTarget('cortex-m'), plan: parsePlan('uniform:8'), planName: 'uniform:8',
      sourceSha256: new Uint8Array(32), sourcePath: 'synth-stories260K-unshared.bin', vectors: 2,
    });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.edgeq'), qb.files['model.edgeq']);
    writeFileSync(join(dir, 'runtime.wasm'), qb.files['runtime.wasm']);
  }
  out.push({ name: 'synth260K-unshared-k4v2w4a2rot/scalar', wasm: new Uint8Array(readFileSync(join(dir, 'runtime.wasm'))), artifact: new Uint8Array(readFileSync(join(dir, 'model.edgeq'))) });
  return out;
}

/**
 * A synthetic stories260K-shaped bundle whose block matrices are q5 (g32) and q6 (g32, block
 * 1) with a q5 classifier: the 5- and 6-bit formats' tensors and gemv_lut params under the
 * mutators (issue 15). Its w2 (172 inputs) is stored padded to 192 columns (a partial last
 * group; lut_tables n 172, nPad 192). Built once per source hash, like the int8 synthetic target.
 */
export async function lowbitTarget(log?: (s: string) => void): Promise<FuzzTarget> {
  return cachedSynthTarget('synth260K-q5q6', log, async ({ quantizeInt8, SHAPES, synthWeights, bundleFromQuant, loadTarget }) => {
    const { planFromJson } = await import('../compiler/plan/plan.ts');
    const w = synthWeights({ ...SHAPES.stories260K, sharedClassifier: false }, 12);
    const plan = planFromJson({ edgeqPlan: 1, default: { bits: 5, groupSize: 32 }, blocks: { 1: { bits: 6, groupSize: 32 } }, classifier: { bits: 5, groupSize: 32 } }, 'q5q6.json');
    return bundleFromQuant({
      model: quantizeInt8(w, { plan }), target: loadTarget('wasm32'), plan, planName: 'q5q6.json',
      sourceSha256: new Uint8Array(32), sourcePath: 'synth-stories260K-unshared.bin', vectors: 2,
    });
  });
}

/**
 * A synthetic stories260K-shaped bundle (SIMD runtime, whose block-cache ops call the scalar
 * kernels) with per-channel K blocks and anchors, k2v2,w4,kblock=2,anchors=2%: the block
 * requantization and read (docs/integer-spec.md §3.7.3) and their kBlock param under the
 * mutators. Built once per source hash.
 */
export async function kblockTarget(log?: (s: string) => void): Promise<FuzzTarget> {
  return cachedSynthTarget('synth260K-k2v2w4kb2a2', log, async ({ quantizeInt8, SHAPES, synthWeights, bundleFromQuant, loadTarget }) => {
    const { parsePlan } = await import('../compiler/emit/from-quant.ts');
    const { parseKvFormat } = await import('../compiler/quantize/kv-cache.ts');
    return bundleFromQuant({
      model: { ...quantizeInt8(synthWeights(SHAPES.stories260K, 13)), kvCache: parseKvFormat('k2v2,w4,kblock=2,anchors=2%') },
      target: loadTarget('wasm32'), plan: parsePlan('uniform:8'), planName: 'uniform:8',
      sourceSha256: new Uint8Array(32), sourcePath: 'synth-stories260K.bin', vectors: 2,
    });
  });
}

/**
 * A synthetic stories260K-shaped bundle whose block matrices and classifier are vq2 (w2, 172
 * inputs, stays int8): the codes, codebook and matrix scale tensors and gemv_vq's params
 * (docs/integer-spec.md §9.7) under the mutators (issue 15). SIMD runtime; built once per
 * source hash.
 */
export async function vqTarget(log?: (s: string) => void): Promise<FuzzTarget> {
  return cachedSynthTarget('synth260K-vq2', log, async ({ quantizeInt8, SHAPES, synthWeights, bundleFromQuant, loadTarget }) => {
    const { parsePlan } = await import('../compiler/plan/plan.ts');
    const plan = parsePlan('uniform:vq2,clsvq2');
    return bundleFromQuant({
      model: quantizeInt8(synthWeights({ ...SHAPES.stories260K, sharedClassifier: false }, 14), { plan }), target: loadTarget('wasm32'), plan, planName: plan.name!,
      sourceSha256: new Uint8Array(32), sourcePath: 'synth-stories260K-unshared.bin', vectors: 2,
    });
  });
}

/** What a synthetic target's builder needs (imported only when it builds). */
type SynthLib = typeof import('../compiler/quantize/int8.ts') & typeof import('../compiler/synth/synth.ts')
  & typeof import('../compiler/bundle.ts') & typeof import('../compiler/target/profile.ts');

/** A synthetic target `key` (SIMD runtime), built by `build` once per source hash into the engines' cache. */
async function cachedSynthTarget(key: string, log: ((s: string) => void) | undefined, build: (lib: SynthLib) => Promise<{ files: Record<string, Uint8Array> }>): Promise<FuzzTarget> {
  const { cacheRoot } = await import('../compiler/engines/cache.ts');
  const { sourcesHash } = await import('../test/helpers/bundle.ts');
  const dir = join(cacheRoot(), 'fuzz-bundles', `${key}-${sourcesHash()}`);
  if (!existsSync(join(dir, 'runtime.wasm'))) {
    log?.(`fuzz: building the ${key} target (once)...`);
    const qb = await build({
      ...(await import('../compiler/quantize/int8.ts')), ...(await import('../compiler/synth/synth.ts')),
      ...(await import('../compiler/bundle.ts')), ...(await import('../compiler/target/profile.ts')),
    });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.edgeq'), qb.files['model.edgeq']);
    writeFileSync(join(dir, 'runtime.wasm'), qb.files['runtime.wasm']);
  }
  return { name: `${key}/simd`, wasm: new Uint8Array(readFileSync(join(dir, 'runtime.wasm'))), artifact: new Uint8Array(readFileSync(join(dir, 'model.edgeq'))) };
}

export function formatReport(r: FuzzReport): string {
  const lines = [`fuzz: seed ${r.seed}, ${r.cases} cases in ${r.seconds.toFixed(1)} s (${(r.cases / Math.max(r.seconds, 1e-9)).toFixed(0)} cases/s), ${r.instances} instances; case time mean ${r.meanCaseMs.toFixed(3)} ms, max ${r.maxCaseMs.toFixed(1)} ms`];
  lines.push('outcomes:');
  for (const [k, v] of Object.entries(r.outcomes).sort((a, b) => b[1] - a[1])) lines.push(`  ${String(v).padStart(8)}  ${k}`);
  lines.push(`targets: ${Object.entries(r.perTarget).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`mutations: ${Object.entries(r.mutations).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(r.findings.length ? `FINDINGS (${r.findings.length}):` : 'findings: none (no trap, no host exception, no slow case, no baseline mismatch)');
  for (const f of r.findings.slice(0, 20)) lines.push(`  case ${f.case} ${f.target} ${f.mutation}: ${f.outcome} ${f.detail}  (replay: npm run fuzz -- --seed ${r.seed} --repro ${f.case})`);
  return lines.join('\n') + '\n';
}

async function main(argv: string[]): Promise<number> {
  const o: FuzzOptions = { cases: 10000, seconds: 600, seed: 1, log: (s) => process.stderr.write(`${s}\n`) };
  const bundles: string[] = [];
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = () => { const x = argv[++i]; if (x === undefined) throw new Error(`${a} needs a value`); return x; };
    const num = (x: string) => { const n = Number(x); if (!Number.isFinite(n) || n < 0) throw new Error(`${a} expects a non-negative number, got "${x}"`); return n; };
    if (a === '--cases') o.cases = num(v());
    else if (a === '--seconds') o.seconds = num(v());
    else if (a === '--seed') o.seed = num(v());
    else if (a === '--per-instance') o.perInstance = num(v());
    else if (a === '--slow-ms') o.slowMs = num(v());
    else if (a === '--repro') o.only = num(v());
    else if (a === '--bundle') bundles.push(v());
    else if (a === '--json') json = true;
    else { process.stderr.write(`usage: npm run fuzz -- [--cases N] [--seconds S] [--seed n] [--bundle dir ...] [--per-instance N] [--slow-ms ms] [--repro i] [--json]\n`); return 2; }
  }
  let targets: FuzzTarget[];
  if (bundles.length) {
    const { readBundle } = await import('../compiler/engines/engine.ts');
    targets = bundles.map((d) => { const b = readBundle(d); return { name: d, wasm: b.runtimeWasm, artifact: b.artifact }; });
  } else {
    targets = await defaultTargets(o.log);
  }
  const r = await fuzz(targets, o);
  process.stdout.write(json ? `${JSON.stringify(r, null, 2)}\n` : formatReport(r));
  return r.findings.length ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e) => { console.error(e); process.exitCode = 70; });
}
