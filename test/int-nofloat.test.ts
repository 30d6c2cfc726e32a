// The integer path contains no float operation: a check on the TypeScript syntax tree of
// every file under runtime/kernels/reference and runtime/reference (so comments, strings
// and import paths cannot fool it). Forbidden:
//   - division and exponentiation operators (/ /= ** **=) and regular expressions;
//   - non-integer numeric literals (0.5, 1e-5) and BigInt literals;
//   - Float32Array, Float64Array, BigInt, parseFloat, toFixed, NaN, Infinity, Math.* other
//     than Math.imul and Math.clz32 (which are int32 operations);
//   - `*` with an operand that reads an array element or calls a function: products of
//     values must be Math.imul (wrapping int32, exact when the spec's bounds hold), so
//     plain `*` is left only for sizes and indices, which are bounded by array lengths.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { ROOT } from './helpers/models.ts';

const DIRS = ['runtime/kernels/reference', 'runtime/reference'];
const FORBIDDEN_NAMES = new Set(['Float32Array', 'Float64Array', 'BigInt', 'BigInt64Array', 'BigUint64Array', 'parseFloat', 'toFixed', 'toPrecision', 'NaN', 'Infinity']);
const MATH_OK = new Set(['imul', 'clz32']);

export function floatOps(file: string): string[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const at = (n: ts.Node, what: string) => {
    const { line } = src.getLineAndCharacterOfPosition(n.getStart(src));
    found.push(`${relative(ROOT, file)}:${line + 1}: ${what}: ${n.getText(src).slice(0, 60)}`);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isBinaryExpression(n)) {
      const op = n.operatorToken.kind;
      if (op === ts.SyntaxKind.SlashToken || op === ts.SyntaxKind.SlashEqualsToken) at(n, 'division');
      if (op === ts.SyntaxKind.AsteriskAsteriskToken || op === ts.SyntaxKind.AsteriskAsteriskEqualsToken) at(n, 'exponentiation');
      if (op === ts.SyntaxKind.AsteriskToken || op === ts.SyntaxKind.AsteriskEqualsToken) {
        const valueLike = (e: ts.Expression) => {
          while (ts.isParenthesizedExpression(e)) e = e.expression;
          return ts.isElementAccessExpression(e) || ts.isCallExpression(e);
        };
        if (valueLike(n.left) || valueLike(n.right)) at(n, 'value product with * (use Math.imul)');
      }
    }
    if (ts.isRegularExpressionLiteral(n)) at(n, 'regular expression');
    if (ts.isBigIntLiteral(n)) at(n, 'BigInt literal');
    if (ts.isNumericLiteral(n) && (!Number.isInteger(Number(n.text)) || /[.eE]/.test(n.text.replace(/^0[xX][0-9a-fA-F]+$/, '')))) at(n, 'non-integer literal');
    if (ts.isIdentifier(n) && FORBIDDEN_NAMES.has(n.text)) at(n, 'float name');
    if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'Math' && !MATH_OK.has(n.name.text)) at(n, 'Math function');
    ts.forEachChild(n, visit);
  };
  visit(src);
  return found;
}

const files = DIRS.flatMap((d) => readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, d, f)));

test('the integer path has the expected files (the check below is not vacuous)', () => {
  const names = files.map((f) => relative(ROOT, f));
  for (const k of ['gemv_q8', 'rmsnorm', 'softmax', 'rope', 'silu', 'quantize_act', 'attention', 'argmax', 'sampler', 'int64', 'gse',
    'gemv_q8_t', 'rmsnorm_backward', 'swiglu_backward', 'rope_backward', 'attention_backward', 'cross_entropy', 'gse_outer', 'sgd', 'train_arith']) {
    assert.ok(names.includes(`runtime/kernels/reference/${k}.ts`), `${k}.ts`);
  }
  assert.ok(names.includes('runtime/reference/model.ts'));
});

test('no float operation in runtime/kernels/reference and runtime/reference', () => {
  const bad = files.flatMap(floatOps);
  assert.equal(bad, [], bad.join('\n'));
});

test('the checker does catch float operations', () => {
  const probe = join(ROOT, 'test/fixtures/float-probe.ts.txt');
  const hits = floatOps(probe).map((s) => s.split(': ')[1]);
  assert.equal(hits, ['division', 'non-integer literal', 'Math function', 'float name', 'exponentiation', 'value product with * (use Math.imul)', 'division']);
});

test.run();
