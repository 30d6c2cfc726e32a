// Precision plans: which weight format every matrix gets (docs/integer-spec.md §11).
//
//   --plan uniform:<b>[g<G>][,cls<b>[g<G>]]
//                              b in 8, 4, 3, 2, 1; G in 32, 64, 128 (default 64; int8 has none).
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
// "deltaKl" (a number: measured damage, edgeq plan --method damage), and the
// plan "method" (a string) and "bytes" (an object): what a planner (edgeq plan,
// compiler/plan/ewq.ts) records for people; the quantizer ignores them.
// A choice is { "bits", "groupSize"?, "format"? }: format, if given, must be the one the bits
// imply (int8, q4_lut, q3, q2_lut, q1). groupSize is inherited from the enclosing level when
// absent (block from default, matrix from block), 64 at the top; it is ignored for int8.
//
// What a plan asks for is not always what a matrix can have: the LUT kernels need the input
// size n to be a multiple of G. resolveMatrix() applies the fallback rule (the largest
// supported G <= the requested one that divides n, else int8) and says why; the quantizer
// records the final choice per matrix in the artifact's PrecisionPlan.
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
import { ALL_GROUP_SIZES, PLAN_BITS, formatNameOfBits, formatOfBits as formatEntryOfBits, type PlanBits, type WeightFormat } from '../quantize/formats/registry.ts';

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

export interface MatrixChoice { bits: PlanBits; groupSize: number }

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

const INT8: MatrixChoice = { bits: 8, groupSize: 0 };
/** What the plan asks for the classifier: int8 unless it opts in. */
export const requestedClassifier = (plan: PlanSpec | undefined): MatrixChoice => plan?.classifier ?? INT8;

const usage = (msg: string) => new EdgeqError(msg, {}, 2);

/** Parses `--plan`: uniform:<b>[g<G>][,cls<b>[g<G>]] or a JSON plan file's path. */
export function parsePlan(s: string): PlanSpec {
  const m = /^uniform:(\d+)(?:g(\d+))?(?:,cls(\d+)(?:g(\d+))?)?$/.exec(s);
  if (m) {
    /** bits and group size of one part (`what`: "" or "classifier "); G inherits `inheritG`. */
    const part = (b: string, g: string | undefined, inheritG: number, what: string): MatrixChoice => {
      const bits = Number(b);
      if (!PLAN_BITS.includes(bits as PlanBits)) throw usage(`--plan ${JSON.stringify(s)}: ${bits}-bit ${what}weights are not supported; bits: ${PLAN_BITS.join(', ')}`);
      if (g === undefined) return { bits: bits as PlanBits, groupSize: bits === 8 ? 0 : inheritG };
      if (bits === 8) throw usage(`--plan ${JSON.stringify(s)}: int8 ${what}weights have per-row scales, no group size`);
      if (!(PLAN_GROUP_SIZES as readonly number[]).includes(Number(g))) throw usage(`--plan ${JSON.stringify(s)}: ${what}group size ${g} is not supported; group sizes: ${PLAN_GROUP_SIZES.join(', ')}`);
      return { bits: bits as PlanBits, groupSize: Number(g) };
    };
    const u = part(m[1], m[2], DEFAULT_GROUP_SIZE, '');
    const cls = m[3] === undefined ? INT8 : part(m[3], m[4], u.groupSize || DEFAULT_GROUP_SIZE, 'classifier ');
    const spec: PlanSpec = { kind: 'uniform', bits: u.bits, groupSize: u.groupSize, ...(cls.bits === 8 ? {} : { classifier: cls }) };
    // The canonical name (what manifests record): G spelled out, an int8 classifier left out.
    return { ...spec, name: planName(spec) };
  }
  if (s.endsWith('.json')) return readPlanFile(s);
  throw usage(`--plan ${JSON.stringify(s)}: unknown plan; use uniform:<bits>[g<group size>][,cls<bits>[g<group size>]] (bits ${PLAN_BITS.join('/')}, group sizes ${PLAN_GROUP_SIZES.join('/')}, e.g. uniform:4g64 or uniform:4g64,cls4) or a plan file ending in .json`);
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
    if (!('bits' in o)) fail(path, 'missing "bits"');
    const b = o.bits;
    if (typeof b !== 'number' || !PLAN_BITS.includes(b as PlanBits)) fail(path + '.bits', `expected one of ${PLAN_BITS.join(', ')}, got ${kind(b)}`);
    const bits = b as PlanBits;
    let g = inheritG;
    if ('groupSize' in o) {
      const gv = o.groupSize;
      if (typeof gv !== 'number' || !(PLAN_GROUP_SIZES as readonly number[]).includes(gv)) fail(path + '.groupSize', `expected one of ${PLAN_GROUP_SIZES.join(', ')}, got ${kind(gv)}`);
      g = gv as number;
    }
    if ('format' in o && o.format !== formatOfBits(bits)) fail(path + '.format', `${bits}-bit weights have format "${formatOfBits(bits)}", got ${kind(o.format)}`);
    info(o, path);
    return { bits, groupSize: bits === 8 ? 0 : g };
  };
  // Informational fields a planner records (edgeq plan: compiler/plan/ewq.ts); not used by the quantizer.
  const info = (o: Record<string, unknown>, path: string) => {
    if ('entropy' in o && !(typeof o.entropy === 'number' && Number.isFinite(o.entropy) && o.entropy >= 0)) fail(path + '.entropy', `expected a number >= 0, got ${kind(o.entropy)}`);
    if ('rule' in o && typeof o.rule !== 'string') fail(path + '.rule', `expected a string, got ${kind(o.rule)}`);
    if ('deltaKl' in o && !(typeof o.deltaKl === 'number' && Number.isFinite(o.deltaKl))) fail(path + '.deltaKl', `expected a number, got ${kind(o.deltaKl)}`);
  };
  const eightOnly = (v: unknown, path: string, what: string) => {
    const c = choice(v, path, DEFAULT_GROUP_SIZE);
    if (c.bits !== 8) fail(path + '.bits', `the ${what} stays int8 (a low-bit embedding is not supported: its rows are looked up, not streamed; docs/integer-spec.md §11)`);
  };

  if (!isObj(json)) fail('$', `expected a plan object, got ${kind(json)}`);
  const o = json as Record<string, unknown>;
  keys(o, '$', ['edgeqPlan', 'default', 'blocks', 'embedding', 'classifier', 'comment', 'method', 'bytes']);
  if (o.edgeqPlan !== 1) fail('$.edgeqPlan', `expected 1 (the plan format version), got ${kind(o.edgeqPlan)}`);
  if ('method' in o && typeof o.method !== 'string') fail('$.method', `expected a string, got ${kind(o.method)}`);
  if ('bytes' in o && !isObj(o.bytes)) fail('$.bytes', `expected an object, got ${kind(o.bytes)}`);
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
      if ('bits' in b) spec.choice = choice({ bits: b.bits, ...('groupSize' in b ? { groupSize: b.groupSize } : {}), ...('format' in b ? { format: b.format } : {}) }, path, def.groupSize || DEFAULT_GROUP_SIZE);
      else if ('groupSize' in b || 'format' in b) fail(path, '"groupSize"/"format" of a block need "bits"');
      if ('matrices' in b) {
        if (!isObj(b.matrices)) fail(`${path}.matrices`, `expected an object keyed by matrix name, got ${kind(b.matrices)}`);
        for (const [mn, mv] of Object.entries(b.matrices as Record<string, unknown>)) {
          if (!(BLOCK_MATRICES as readonly string[]).includes(mn)) fail(`${path}.matrices${key(mn)}`, `unknown matrix (block matrices: ${BLOCK_MATRICES.join(', ')})`);
          spec.matrices[mn as BlockMatrix] = choice(mv, `${path}.matrices${key(mn)}`, spec.choice?.groupSize || blockG, ['entropy', 'rule']);
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
  return { bits: plan.bits, groupSize: plan.bits === 8 ? 0 : (plan.groupSize || DEFAULT_GROUP_SIZE) };
}

/** The format a matrix with input size n actually gets, and why (the fallback rule). */
export interface ResolvedChoice { bits: PlanBits; groupSize: number; format: WeightFormat; rule: string }

export function resolveMatrix(want: MatrixChoice, n: number): ResolvedChoice {
  const f = formatEntryOfBits(want.bits);
  if (f.groupSizes.length === 0) return { bits: f.bits, groupSize: 0, format: f.name, rule: `${f.name} per-row` };
  const fits = f.groupSizes.filter((g) => g <= want.groupSize && n % g === 0);
  if (fits.length === 0) {
    return { bits: 8, groupSize: 0, format: 'int8', rule: `asked ${want.bits}-bit g${want.groupSize}; input size ${n} is not a multiple of ${f.groupSizes.join('/')}: int8 fallback` };
  }
  const g = fits[fits.length - 1];
  const rule = g === want.groupSize ? `${want.bits}-bit g${g}` : `${want.bits}-bit g${g} (asked g${want.groupSize}; input size ${n} is not a multiple of it)`;
  return { bits: want.bits, groupSize: g, format: f.name, rule };
}

/** A short description of the plan (PrecisionPlan.method, manifest). */
export function planMethod(plan: PlanSpec): string {
  const c = requestedClassifier(plan);
  const cls = c.bits === 8 ? '' : ` classifier bits=${c.bits} group=${c.groupSize}`;
  if (plan.kind === 'uniform') return (plan.bits === 8 ? 'uniform bits=8' : `uniform bits=${plan.bits} group=${plan.groupSize || DEFAULT_GROUP_SIZE}`) + cls;
  return `file ${basename(plan.name ?? 'plan.json')}${plan.sha256 ? ` sha256:${plan.sha256.slice(0, 16)}` : ''} default bits=${plan.bits}${plan.bits === 8 ? '' : ` group=${plan.groupSize}`}${cls}`;
}

/** The plan's name as the manifest and artifact metadata record it (a file by its base name). */
export function planName(plan: PlanSpec): string {
  if (plan.kind === 'file') return basename(plan.name ?? 'plan.json');
  if (plan.name) return plan.name;
  const c = requestedClassifier(plan);
  return (plan.bits === 8 ? 'uniform:8' : `uniform:${plan.bits}g${plan.groupSize || DEFAULT_GROUP_SIZE}`) + (c.bits === 8 ? '' : `,cls${c.bits}g${c.groupSize}`);
}
