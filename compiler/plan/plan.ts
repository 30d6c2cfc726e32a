// Precision plans: which weight format every matrix gets (docs/integer-spec.md §11).
//
//   --plan uniform:<b>[g<G>][,cls<b>[g<G>]]
//                              b: a weight format by its bits (8, 4, 3, 2, 1) or its name
//                              (int8, q4_lut, q3, q2_lut, q1: compiler/quantize/formats/);
//                              G in 32, 64, 128 (default 64; int8 has none).
//                              ,cls<b>[g<G>]: the classifier at b bits (opt-in, default int8;
//                              its G defaults to the uniform one's, else 64)
//   --plan <file.json>         a plan file (format below, validated with errors that name the
//                              file and the JSON path)
//
// Plan file (JSON):
//   {
//     "edgeqPlan": 1,                                  required, the format version
//     "default": { "bits": 4, "groupSize": 64 },       every block matrix unless overridden
//     "blocks": {                                      optional; keys are block indices
//       "0": { "bits": 8 },                            a whole block (its 7 matrices)
//       "3": { "bits": 4, "matrices": { "w2": { "bits": 2, "groupSize": 32 } } }
//     },
//     "embedding": { "bits": 8 },                      optional; only 8 is supported
//     "classifier": { "bits": 4, "groupSize": 64 }     optional; default int8 (groupSize
//                                                      inherited from default, as a block's)
//   }
// Blocks and matrices may also carry "entropy" (a number >= 0) and "rule" (a string), blocks
// "deltaKl" (a number: measured damage, edgeq plan --method damage), matrices "damage" and
// "sensitivity" (numbers >= 0: edgeq plan --method mixed, compiler/plan/mixed.ts), and the
// plan "method" (a string), "bytes" (an object) and "blockBpw" ({"used": n > 0, "budget"?:
// n > 0}: bits per block weight of a mixed plan): what a planner (edgeq plan,
// compiler/plan/ewq.ts) records for people; the quantizer ignores them.
// A choice is { "bits"?, "format"?, "groupSize"? }: a format named by its bits, its name or
// both (then they must agree). groupSize is inherited from the enclosing level when
// absent (block from default, matrix from block), 64 at the top; it is ignored for int8.
//
// What a plan asks for is not always what a matrix can have: a LUT matrix is stored as whole
// groups of G columns, the last one padded when G does not divide the input size n
// (lowbit-format.ts paddedCols). resolveMatrix() takes, among the supported G <= the
// requested one, the one with the fewest stored columns G ceil(n / G) (the largest G among
// equals: so the largest G that divides n when one does), else int8, and says why; the
// quantizer records the final choice per matrix in the artifact's PrecisionPlan.
//
// The classifier is int8 unless the plan opts in: its error goes straight into the logits,
// with no later normalization to absorb it (docs/integer-spec.md §11). A low-bit classifier
// of a model whose classifier is the token embedding becomes a separate matrix `wcls` (the
// embedding lookup stays int8).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkInputFile } from '../util/input-file.ts';
import { basename } from 'node:path';
import { EdgeqError } from '../util/errors.ts';
import { paddedCols } from '../quantize/lowbit-format.ts';
import {
  ALL_GROUP_SIZES, BASE_FORMAT, PLAN_BITS, WEIGHT_FORMAT_NAMES, formatNameOfBits, formatNamed, formatOfBits as formatEntryOfBits,
  type PlanBits, type WeightFormat, type WeightFormatEntry,
} from '../quantize/formats/registry.ts';

// Which formats exist, how many bits a plan spells each with, their group sizes: the
// weight-format registry (compiler/quantize/formats/registry.ts).
export { PLAN_BITS, type PlanBits, type WeightFormat } from '../quantize/formats/registry.ts';
export const PLAN_GROUP_SIZES = ALL_GROUP_SIZES;
/** Default group size of low-bit matrices: see docs/integer-spec.md §11. */
export const DEFAULT_GROUP_SIZE = 64;
export const BLOCK_MATRICES = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;
export type BlockMatrix = (typeof BLOCK_MATRICES)[number];

/** The format a plan's bit count spells. */
export const formatOfBits = (b: PlanBits): WeightFormat => formatNameOfBits(b);

/** What a plan asks for a matrix: a format (`bits` is its plan spelling) and a group size (0: none). */
export interface MatrixChoice { format: WeightFormat; bits: PlanBits; groupSize: number }
/** The choice of format `f` at group size `g` (ignored by formats without groups). */
export const choiceOf = (f: WeightFormatEntry, g: number): MatrixChoice =>
  ({ format: f.name, bits: f.bits, groupSize: f.groupSizes.length ? g : 0 });
/** A format as a plan names it: its bits (`4`) or its name (`q4_lut`); undefined if none is. */
export const formatSpelled = (s: string | number): WeightFormatEntry | undefined =>
  (typeof s === 'number' || BITS_SPELLING.test(s) ? (PLAN_BITS.includes(Number(s) as PlanBits) ? formatEntryOfBits(Number(s)) : undefined) : formatNamed(s));
/** A bit count as plans spell it: `4`, or `2.5` (vq2). */
const BITS_SPELLING = /^\d+(\.\d+)?$/;

interface BlockSpec { choice?: MatrixChoice; matrices: Partial<Record<BlockMatrix, MatrixChoice>> }

export interface PlanSpec {
  kind: 'uniform' | 'file';
  /** Uniform bits (for `kind: 'uniform'`; the file's default bits otherwise). */
  bits: PlanBits;
  groupSize?: number;
  /** The --plan text (uniform:4g64) or the file path. */
  name?: string;
  /** Per-block overrides (plan files). */
  blocks?: Record<number, BlockSpec>;
  /** sha256 (hex) of a plan file's bytes: the artifact records the file by name and content, not path. */
  sha256?: string;
  /** The classifier's format (opt-in; absent: int8). */
  classifier?: MatrixChoice;
}

/** The base format (int8 per-row): the embedding's, the classifier's by default, every fallback's. */
export const INT8: MatrixChoice = choiceOf(BASE_FORMAT, 0);
/** What the plan asks for the classifier: int8 unless it opts in. */
export const requestedClassifier = (plan: PlanSpec | undefined): MatrixChoice => plan?.classifier ?? INT8;

const usage = (msg: string) => new EdgeqError(msg, {}, 2);

/** Parses `--plan`: uniform:<b>[g<G>][,cls<b>[g<G>]] or a JSON plan file's path. */
export function parsePlan(s: string): PlanSpec {
  // A format is spelled by its bits (4) or its name (q4_lut); the name may be followed by g<G>.
  const m = /^uniform:([a-z0-9_.]+?)(?:g(\d+))?(?:,cls([a-z0-9_.]+?)(?:g(\d+))?)?$/.exec(s);
  if (m) {
    /** Format and group size of one part (`what`: "" or "classifier "); G inherits `inheritG`. */
    const part = (b: string, g: string | undefined, inheritG: number, what: string): MatrixChoice => {
      const f = formatSpelled(b);
      if (!f && BITS_SPELLING.test(b)) throw usage(`--plan ${JSON.stringify(s)}: ${Number(b)}-bit ${what}weights are not supported; bits: ${PLAN_BITS.join(', ')}`);
      if (!f) throw usage(`--plan ${JSON.stringify(s)}: ${JSON.stringify(b)} is not a weight format; formats: ${WEIGHT_FORMAT_NAMES.join(', ')} (or their bits: ${PLAN_BITS.join(', ')})`);
      // No G given: the inherited one when this format admits it, else the format's largest admitted below it (q6: 32).
      if (g === undefined) return choiceOf(f, f.groupSizes.includes(inheritG) ? inheritG : Math.max(f.groupSizes[0] ?? 0, ...f.groupSizes.filter((x) => x <= inheritG)));
      if (!f.groupSizes.length) throw usage(`--plan ${JSON.stringify(s)}: ${f.name} ${what}weights have per-row scales, no group size`);
      if (!f.groupSizes.includes(Number(g))) throw usage(`--plan ${JSON.stringify(s)}: ${what}group size ${g} is not supported; group sizes: ${f.groupSizes.join(', ')}`);
      return choiceOf(f, Number(g));
    };
    const u = part(m[1], m[2], DEFAULT_GROUP_SIZE, '');
    const cls = m[3] === undefined ? INT8 : part(m[3], m[4], u.groupSize || DEFAULT_GROUP_SIZE, 'classifier ');
    const spec: PlanSpec = { kind: 'uniform', bits: u.bits, groupSize: u.groupSize, ...(cls.bits === 8 ? {} : { classifier: cls }) };
    // The canonical name (what manifests record): G spelled out, an int8 classifier left out.
    return { ...spec, name: planName(spec) };
  }
  if (s.endsWith('.json')) return readPlanFile(s);
  throw usage(`--plan ${JSON.stringify(s)}: unknown plan; use uniform:<bits>[g<group size>][,cls<bits>[g<group size>]] (bits ${PLAN_BITS.join('/')} or a format's name ${WEIGHT_FORMAT_NAMES.join('/')}, group sizes ${PLAN_GROUP_SIZES.join('/')}, e.g. uniform:4g64 or uniform:4g64,cls4) or a plan file ending in .json`);
}

/** Reads and validates a plan file. */
export function readPlanFile(path: string): PlanSpec {
  let text: string;
  checkInputFile(path, 'a plan file (.json)', { maxBytes: 1 << 24 });
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new EdgeqError(`plan file ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new EdgeqError(`plan file ${path}: not valid JSON (${(e as Error).message})`); }
  return { ...planFromJson(json, path), sha256: createHash('sha256').update(text).digest('hex') };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const key = (k: string) => (/^[A-Za-z_]\w*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);
const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`);

/** Validates a parsed plan file; `file` names it in errors (with the JSON path). */
export function planFromJson(json: unknown, file: string): PlanSpec {
  const fail = (path: string, msg: string): never => { throw new EdgeqError(`plan file ${file}: ${path}: ${msg}`); };
  const keys = (o: Record<string, unknown>, path: string, allowed: string[]) => {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(path + key(k), `unknown key (allowed: ${allowed.join(', ')})`);
  };
  const choice = (v: unknown, path: string, inheritG: number, extra: string[] = []): MatrixChoice => {
    if (!isObj(v)) fail(path, `expected an object like {"bits": 4, "groupSize": 64}, got ${kind(v)}`);
    const o = v as Record<string, unknown>;
    keys(o, path, ['bits', 'groupSize', 'format', ...extra]);
    if (!('bits' in o) && !('format' in o)) fail(path, 'missing "bits" (or "format")');
    // "format" names the format; "bits" spells it by its bit count; given both, they must agree.
    let f: WeightFormatEntry | undefined;
    if ('format' in o) {
      f = typeof o.format === 'string' ? formatNamed(o.format) : undefined;
      if (!f) fail(path + '.format', `expected one of ${WEIGHT_FORMAT_NAMES.join(', ')}, got ${kind(o.format)}`);
    }
    if ('bits' in o) {
      const b = o.bits;
      if (typeof b !== 'number' || !PLAN_BITS.includes(b as PlanBits)) fail(path + '.bits', `expected one of ${PLAN_BITS.join(', ')}, got ${kind(b)}`);
      if (f && f.bits !== b) fail(path + '.format', `${b}-bit weights have format "${formatOfBits(b as PlanBits)}", got ${kind(o.format)}`);
      f = formatEntryOfBits(b as number);
    }
    let g = inheritG;
    if ('groupSize' in o) {
      const gv = o.groupSize;
      if (typeof gv !== 'number' || !(PLAN_GROUP_SIZES as readonly number[]).includes(gv)) fail(path + '.groupSize', `expected one of ${PLAN_GROUP_SIZES.join(', ')}, got ${kind(gv)}`);
      g = gv as number;
    }
    info(o, path);
    return choiceOf(f!, g);
  };
  // Informational fields a planner records (edgeq plan: compiler/plan/ewq.ts); not used by the quantizer.
  const info = (o: Record<string, unknown>, path: string) => {
    if ('entropy' in o && !(typeof o.entropy === 'number' && Number.isFinite(o.entropy) && o.entropy >= 0)) fail(path + '.entropy', `expected a number >= 0, got ${kind(o.entropy)}`);
    if ('rule' in o && typeof o.rule !== 'string') fail(path + '.rule', `expected a string, got ${kind(o.rule)}`);
    if ('deltaKl' in o && !(typeof o.deltaKl === 'number' && Number.isFinite(o.deltaKl))) fail(path + '.deltaKl', `expected a number, got ${kind(o.deltaKl)}`);
    for (const k of ['damage', 'sensitivity']) if (k in o && !(typeof o[k] === 'number' && Number.isFinite(o[k]) && (o[k] as number) >= 0)) fail(`${path}.${k}`, `expected a number >= 0, got ${kind(o[k])}`);
  };
  const eightOnly = (v: unknown, path: string, what: string) => {
    const c = choice(v, path, DEFAULT_GROUP_SIZE);
    if (c.format !== BASE_FORMAT.name) fail(path + ('bits' in (v as object) ? '.bits' : '.format'), `the ${what} stays int8 (a low-bit embedding is not supported: its rows are looked up, not streamed; docs/integer-spec.md §11)`);
  };

  if (!isObj(json)) fail('$', `expected a plan object, got ${kind(json)}`);
  const o = json as Record<string, unknown>;
  keys(o, '$', ['edgeqPlan', 'default', 'blocks', 'embedding', 'classifier', 'comment', 'method', 'bytes', 'blockBpw']);
  if (o.edgeqPlan !== 1) fail('$.edgeqPlan', `expected 1 (the plan format version), got ${kind(o.edgeqPlan)}`);
  if ('method' in o && typeof o.method !== 'string') fail('$.method', `expected a string, got ${kind(o.method)}`);
  if ('bytes' in o && !isObj(o.bytes)) fail('$.bytes', `expected an object, got ${kind(o.bytes)}`);
  if ('blockBpw' in o) {
    if (!isObj(o.blockBpw)) fail('$.blockBpw', `expected an object like {"used": 4.58, "budget": 4.6}, got ${kind(o.blockBpw)}`);
    const bb = o.blockBpw as Record<string, unknown>;
    keys(bb, '$.blockBpw', ['used', 'budget']);
    if (!('used' in bb)) fail('$.blockBpw', 'missing "used" (the plan\'s bits per block weight)');
    for (const k of ['used', 'budget']) if (k in bb && !(typeof bb[k] === 'number' && Number.isFinite(bb[k]) && (bb[k] as number) > 0)) fail(`$.blockBpw.${k}`, `expected a number > 0, got ${kind(bb[k])}`);
  }
  if (!('default' in o)) fail('$', 'missing "default" (e.g. {"bits": 4, "groupSize": 64})');
  const def = choice(o.default, '$.default', DEFAULT_GROUP_SIZE);
  if ('embedding' in o) eightOnly(o.embedding, '$.embedding', 'embedding');
  const classifier = 'classifier' in o ? choice(o.classifier, '$.classifier', def.groupSize || DEFAULT_GROUP_SIZE) : INT8;
  const blocks: Record<number, BlockSpec> = {};
  if ('blocks' in o) {
    if (!isObj(o.blocks)) fail('$.blocks', `expected an object keyed by block index, got ${kind(o.blocks)}`);
    for (const [k, bv] of Object.entries(o.blocks as Record<string, unknown>)) {
      const path = `$.blocks${key(k)}`;
      if (!/^(0|[1-9]\d{0,3})$/.test(k)) fail(path, 'block keys are block indices ("0", "1", ...)');
      if (!isObj(bv)) fail(path, `expected an object, got ${kind(bv)}`);
      const b = bv as Record<string, unknown>;
      keys(b, path, ['bits', 'groupSize', 'format', 'matrices', 'entropy', 'deltaKl', 'rule']);
      info(b, path);
      const spec: BlockSpec = { matrices: {} };
      const blockG = typeof b.groupSize === 'number' ? b.groupSize : def.groupSize || DEFAULT_GROUP_SIZE;
      if ('bits' in b || 'format' in b) spec.choice = choice({ ...('bits' in b ? { bits: b.bits } : {}), ...('groupSize' in b ? { groupSize: b.groupSize } : {}), ...('format' in b ? { format: b.format } : {}) }, path, def.groupSize || DEFAULT_GROUP_SIZE);
      else if ('groupSize' in b) fail(path, '"groupSize" of a block needs "bits" or "format"');
      if ('matrices' in b) {
        if (!isObj(b.matrices)) fail(`${path}.matrices`, `expected an object keyed by matrix name, got ${kind(b.matrices)}`);
        for (const [mn, mv] of Object.entries(b.matrices as Record<string, unknown>)) {
          if (!(BLOCK_MATRICES as readonly string[]).includes(mn)) fail(`${path}.matrices${key(mn)}`, `unknown matrix (block matrices: ${BLOCK_MATRICES.join(', ')})`);
          spec.matrices[mn as BlockMatrix] = choice(mv, `${path}.matrices${key(mn)}`, spec.choice?.groupSize || blockG, ['entropy', 'rule', 'damage', 'sensitivity']);
        }
      }
      blocks[Number(k)] = spec;
    }
  }
  return { kind: 'file', bits: def.bits, groupSize: def.groupSize, name: file, blocks, ...(classifier.bits === 8 ? {} : { classifier }) };
}

/** Checks a plan against a model: every block it names exists. */
export function checkPlanForModel(plan: PlanSpec, nLayers: number): void {
  for (const k of Object.keys(plan.blocks ?? {})) {
    if (Number(k) >= nLayers) throw new EdgeqError(`plan file ${plan.name}: $.blocks[${JSON.stringify(k)}]: the model has ${nLayers} blocks (0..${nLayers - 1})`);
  }
}

/** What the plan asks for matrix `name` of block `block`. */
export function requested(plan: PlanSpec, block: number, name: BlockMatrix): MatrixChoice {
  const b = plan.blocks?.[block];
  const m = b?.matrices[name];
  if (m) return m;
  if (b?.choice) return b.choice;
  return choiceOf(formatEntryOfBits(plan.bits), plan.groupSize || DEFAULT_GROUP_SIZE);
}

/** The format a matrix with input size n actually gets, and why (the fallback rule). */
export interface ResolvedChoice { bits: PlanBits; groupSize: number; format: WeightFormat; rule: string }

/** What a plan asks for (the format by name; bits alone spell it too). */
type Wanted = Pick<MatrixChoice, 'bits' | 'groupSize'> & { format?: WeightFormat };
const base = (rule: string): ResolvedChoice => ({ bits: BASE_FORMAT.bits, groupSize: 0, format: BASE_FORMAT.name, rule });

export function resolveMatrix(want: Wanted, n: number): ResolvedChoice {
  const f = want.format ? formatNamed(want.format)! : formatEntryOfBits(want.bits);
  if (f.groupSizes.length === 0) {
    // A format without groups stores whole blocks of columns (vq2: 16; int8: 1).
    if (n % f.block.cols !== 0) return base(`asked ${f.name}; input size ${n} is not a multiple of ${f.block.cols}: int8 fallback`);
    return { bits: f.bits, groupSize: 0, format: f.name, rule: f.name === BASE_FORMAT.name ? `${f.name} per-row` : f.name };
  }
  const fits = f.groupSizes.filter((g) => g <= want.groupSize);
  if (fits.length === 0) return base(`asked ${f.bits}-bit g${want.groupSize}; ${f.name} takes group sizes ${f.groupSizes.join('/')}: int8 fallback`);
  // Fewest stored columns; ascending sizes, so `<=` keeps the largest G among equals.
  let g = fits[0];
  for (const x of fits) if (paddedCols(n, x) <= paddedCols(n, g)) g = x;
  const pad = n % g === 0 ? '' : `, ${n} columns stored as ${paddedCols(n, g)} (last group padded)`;
  const asked = g === want.groupSize ? ''
    : n % g === 0 ? ` (asked g${want.groupSize}; input size ${n} is not a multiple of it)`
    : f.groupSizes.includes(want.groupSize) ? ` (asked g${want.groupSize}: ${paddedCols(n, want.groupSize)} columns at it)`
    : ` (asked g${want.groupSize}; ${f.name} takes ${f.groupSizes.join('/')})`;
  return { bits: f.bits, groupSize: g, format: f.name, rule: `${f.bits}-bit g${g}${pad}${asked}` };
}

/** Longest GEMV input the int32 accumulator allows (docs/integer-spec.md §5.4). */
export { MAX_GEMV_INPUT } from '../quantize/lowbit-format.ts';

/**
 * What the quantizer stores for a matrix with input size n: resolveMatrix, and the base
 * format for an input longer than MAX_GEMV_INPUT (the one definition the quantizer, the
 * size skeleton and the planners share).
 */
export function resolveStored(want: Wanted, n: number): ResolvedChoice {
  const r = resolveMatrix(want, n);
  const limit = formatNamed(r.format)!.maxInput;
  // The kernel runs on the stored (padded) columns.
  const stored = r.groupSize > 0 ? paddedCols(n, r.groupSize) : n;
  if (r.format !== BASE_FORMAT.name && stored > limit) return base(`asked ${r.bits}-bit; input size ${stored > n ? `${n} (${stored} stored)` : n} > ${limit} (§5.4): int8 fallback`);
  return r;
}

/** A short description of the plan (PrecisionPlan.method, manifest). */
export function planMethod(plan: PlanSpec): string {
  const c = requestedClassifier(plan);
  const grouped = (b: PlanBits) => formatEntryOfBits(b).groupSizes.length > 0;
  const cls = c.bits === 8 ? '' : ` classifier bits=${c.bits}${grouped(c.bits) ? ` group=${c.groupSize}` : ''}`;
  if (plan.kind === 'uniform') return `uniform bits=${plan.bits}${grouped(plan.bits) ? ` group=${plan.groupSize || DEFAULT_GROUP_SIZE}` : ''}` + cls;
  return `file ${basename(plan.name ?? 'plan.json')}${plan.sha256 ? ` sha256:${plan.sha256.slice(0, 16)}` : ''} default bits=${plan.bits}${grouped(plan.bits) ? ` group=${plan.groupSize}` : ''}${cls}`;
}

/** A choice as a plan name spells it: int8 `8`, a grouped format `<bits>g<G>`, another by its name (`vq2`). */
function spellChoice(bits: PlanBits, groupSize: number | undefined): string {
  const f = formatEntryOfBits(bits);
  if (f.name === BASE_FORMAT.name) return '8';
  return f.groupSizes.length ? `${bits}g${groupSize || DEFAULT_GROUP_SIZE}` : f.name;
}

/** The plan's name as the manifest and artifact metadata record it (a file by its base name). */
export function planName(plan: PlanSpec): string {
  if (plan.kind === 'file') return basename(plan.name ?? 'plan.json');
  if (plan.name) return plan.name;
  const c = requestedClassifier(plan);
  return `uniform:${spellChoice(plan.bits, plan.groupSize)}` + (c.bits === 8 ? '' : `,cls${spellChoice(c.bits, c.groupSize)}`);
}
