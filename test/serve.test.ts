// `edgeq serve`: what it serves (the page, the API, the bundle's files, the training
// module) and what it refuses, over real HTTP on 127.0.0.1. The page itself is driven in a
// browser by test/web.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../compiler/cli/commands/serve.ts';
import { stories260KBundle } from './helpers/bundle.ts';
import { ROOT, model } from './helpers/models.ts';
import { cli } from './helpers/cli.ts';

test('serves the page, dist/edgeq.js and the bundle; nothing else', async () => {
  const bundle = await stories260KBundle('wasm32', 16);
  const s = await startServer(bundle, { port: 0, train: false });
  try {
    const get = (p: string) => fetch(new URL(p, s.url), { redirect: 'manual' });
    const root = await get('/');
    assert.is(root.status, 302);
    assert.is(root.headers.get('location'), '/examples/web/?bundle=/bundle/');
    const page = await get('/examples/web/');
    assert.is(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.is(await page.text(), readFileSync(join(ROOT, 'examples/web/index.html'), 'utf8'));
    assert.is((await get('/examples/web/worker.js')).headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.is(await (await get('/dist/edgeq.js')).text(), readFileSync(join(ROOT, 'dist/edgeq.js'), 'utf8'));
    const model = await get('/bundle/model.edgeq');
    assert.equal(new Uint8Array(await model.arrayBuffer()), new Uint8Array(readFileSync(join(bundle, 'model.edgeq'))));
    assert.is(model.headers.get('content-length'), String(readFileSync(join(bundle, 'model.edgeq')).length));
    assert.is((await get('/bundle/runtime.wasm')).headers.get('content-type'), 'application/wasm');
    for (const p of ['/bundle/train.wasm', '/bundle/../package.json', '/examples/web/../../package.json', '/package.json', '/bundle/plan.json']) {
      assert.is((await get(p)).status, 404, p);
    }
    assert.is((await fetch(new URL('/bundle/model.edgeq', s.url), { method: 'POST' })).status, 405);
  } finally {
    await s.close();
  }
});

test('a directory that is not a bundle, or a bundle without a tokenizer, is refused before listening', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'edgeq-serve-'));
  const r = await cli(['serve', empty, '--port', '0']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /is not a bundle: .*model.edgeq is missing/);
  const noTok = mkdtempSync(join(tmpdir(), 'edgeq-serve-'));
  const c = await cli(['compile', model('stories260K.bin'), '--target', 'wasm32', '--vectors', '0', '-o', noTok]);
  assert.is(c.status, 0, c.stderr);
  const n = await cli(['serve', noTok, '--port', '0']);
  assert.is(n.status, 1);
  assert.match(n.stderr, /no embedded tokenizer/);
  assert.match((await cli(['serve', '--help'])).stdout, /127\.0\.0\.1/);
});

test.run();
