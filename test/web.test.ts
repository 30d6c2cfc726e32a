// The example page (examples/web/, served by `edgeq serve`) in headless Chromium: it loads
// a stories260K bundle through dist/edgeq.js in a Web Worker, generates 32 tokens greedily
// (the text of `edgeq run`), fine-tunes 5 steps (the adapter bytes of `edgeq finetune`),
// generates with the adapter (the text of `edgeq run --adapter`), its screenshot is not
// blank, and with the server gone a reload still loads and generates (service worker).
// Without Chromium locally: a note; under CI, Chromium is installed.
// tier: slow
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../compiler/cli/commands/serve.ts';
import { cli } from './helpers/cli.ts';
import { Browser, findChromium, type Page } from './helpers/chromium.ts';
import { finetuneInPage, generateInPage, waitLoaded } from './helpers/web-page.ts';
import { notBlank } from './helpers/png.ts';
import { ROOT, model } from './helpers/models.ts';
import { stories260KBundle } from './helpers/bundle.ts';

const chromium = findChromium(ROOT);
const dir = mkdtempSync(join(tmpdir(), 'edgeq-web-'));
let bundle: string;
const data = join(dir, 'style.txt');
let server: RunningServer, browser: Browser, page: Page;

const runText = async (args: string[]) => {
  const r = await cli(['run', bundle, ...args]);
  assert.is(r.status, 0, r.stderr);
  return r.stdout.replace(/\n$/, '');
};

if (!chromium) {
  test('browser test', () => {
    console.log('web.test: chromium not installed; the browser test is skipped (apt-get install -y chromium, or EDGEQ_WITH_CHROMIUM=1 bash scripts/setup-deps.sh as root)');
  });
} else {
  test.before(async () => {
    bundle = await stories260KBundle('wasm32', 16); // with the embedded tok512 tokenizer; cached per machine
    writeFileSync(data, readFileSync(model('tinystories-valid-head.txt'), 'utf8').slice(0, 6000));
    server = await startServer(bundle, { port: 0 });
    // The training module is built (or taken from the cache) before the page asks for it.
    assert.ok(await server.trainReady, 'edgeq serve built no training module');
    browser = Browser.launch(chromium);
    page = await browser.open(server.url);
  });
  test.after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the page loads the bundle and generates edgeq run\'s greedy text', async () => {
    await waitLoaded(page, 60_000);
    assert.match(await page.eval<string>('document.getElementById("info").textContent'), /training module/);
    const text = await generateInPage(page, { maxTokens: 32, temperature: 0 }, 60_000);
    assert.ok(text.length > 40, text);
    assert.is(text, await runText(['--temperature', '0', '--positions', '32']));
    assert.match(await page.eval<string>('document.getElementById("tps").textContent'), /^32 tokens, [\d.]+ tok\/s$/);
  });

  test('5 fine-tuning steps in the page give edgeq finetune\'s adapter; the adapted text is edgeq run --adapter\'s', async () => {
    const out = join(dir, 'cli.edqa');
    const r = await cli(['finetune', bundle, '--data', data, '--steps', '5', '-o', out]);
    assert.is(r.status, 0, r.stderr);
    const sha = await finetuneInPage(page, readFileSync(data, 'utf8'), 5, 60_000);
    assert.is(sha, createHash('sha256').update(readFileSync(out)).digest('hex'));
    assert.is(await page.eval<number>('document.querySelectorAll("#loss polyline").length'), 1);
    const adapted = await generateInPage(page, { maxTokens: 32, temperature: 0 }, 60_000);
    assert.is(adapted, await runText(['--adapter', out, '--temperature', '0', '--positions', '32']));
  });

  test('the screenshot is not blank', async () => {
    const png = await page.screenshot();
    const check = notBlank(png);
    assert.ok(check.ok, `blank-looking screenshot: ${JSON.stringify(check)}`);
    assert.is(check.w, 1280);
    if (process.env.EDGEQ_WEB_SCREENSHOT) writeFileSync(process.env.EDGEQ_WEB_SCREENSHOT, png);
  });

  test('once loaded, the page works offline: with the server gone, a reload loads and generates', async () => {
    await page.waitFor('document.body.dataset.offline === "ready"', 60_000);
    await server.close();
    await page.eval('window.beforeReload = true');
    await page.send('Page.reload', { ignoreCache: false });
    // A new document (no marker) that loaded the bundle from the service worker's cache.
    await page.waitFor('!window.beforeReload && document.body.dataset.state === "ready"', 60_000);
    assert.is(await fetch(server.url).then(() => 'reachable', () => 'gone'), 'gone');
    const text = await generateInPage(page, { maxTokens: 32, temperature: 0 }, 60_000);
    assert.is(text, await runText(['--temperature', '0', '--positions', '32']));
  });
}

test.run();
