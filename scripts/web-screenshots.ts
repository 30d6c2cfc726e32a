// Screenshots of the example page (examples/web/) for docs/api.md: `edgeq serve` with a
// bundle, the page driven in headless Chromium (test/helpers/chromium.ts) through a
// generation and a short fine-tuning run, then a screenshot that must not be blank.
//   npx tsx scripts/web-screenshots.ts <bundle dir> <out.png> [--steps N] [--tokens N]
// docs/web-stories260K.png and docs/web-15M.png were made this way (see docs/api.md).
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startServer } from '../compiler/cli/commands/serve.ts';
import { Browser, findChromium } from '../test/helpers/chromium.ts';
import { finetuneInPage, generateInPage, waitLoaded } from '../test/helpers/web-page.ts';
import { notBlank } from '../test/helpers/png.ts';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const [dir, out] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!dir || !out) { console.error('usage: web-screenshots.ts <bundle dir> <out.png> [--steps N] [--tokens N]'); process.exit(2); }
const chromium = findChromium(resolve(import.meta.dirname, '..'));
if (!chromium) { console.log('web-screenshots: chromium not installed'); process.exit(0); }

const server = await startServer(dir, { port: 0, log: (m) => console.error(m) });
const browser = Browser.launch(chromium);
try {
  const page = await browser.open(server.url);
  await waitLoaded(page, 300_000);
  const text = await page.eval<string>('document.getElementById("train-text").value');
  const sha = await finetuneInPage(page, text, flag('--steps', 30), 900_000);
  console.error(`fine-tuned: adapter sha256 ${sha}`);
  const generated = await generateInPage(page, { maxTokens: flag('--tokens', 96), temperature: 0.8, seed: 42 }, 600_000);
  console.error(`generated: ${generated.slice(0, 200)}`);
  const png = await page.screenshot();
  const check = notBlank(png);
  if (!check.ok) throw new Error(`blank-looking screenshot: ${JSON.stringify(check)}`);
  writeFileSync(out, png);
  console.log(`wrote ${out} (${check.colours} colours, ${(100 * check.share).toFixed(1)}% non-background)`);
} finally {
  await browser.close();
  await server.close();
}
