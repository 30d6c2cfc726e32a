// dist/edgeq.js and dist/edgeq.d.ts (the published JavaScript API) are what
// scripts/build-api.ts makes from compiler/api/ now: run `npm run build:api` after a change.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { buildDts, buildJs, OUT_DTS, OUT_JS } from '../scripts/build-api.ts';

const stale = (path: string) => `${path} is stale: run npm run build:api and commit it`;

test('dist/edgeq.js is fresh, self-contained and free of Node globals', async () => {
  const js = await buildJs();
  assert.ok(readFileSync(OUT_JS, 'utf8') === js, stale(OUT_JS));
  assert.not.match(js, /^\s*import\s/m);
  assert.not.match(js, /\bBuffer\.(from|concat|alloc)\(/);
});

test('dist/edgeq.d.ts is fresh and declares the API in one file', () => {
  const dts = buildDts();
  assert.ok(readFileSync(OUT_DTS, 'utf8') === dts, stale(OUT_DTS));
  for (const name of ['loadBundle', 'EdgeqModel', 'GenerateOptions', 'FinetuneOptions', 'BundleSources']) assert.match(dts, new RegExp(`\\b${name}\\b`));
});

test.run();
