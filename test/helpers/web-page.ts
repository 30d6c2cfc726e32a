// Drives the example page (examples/web/) the way a user does — fills the inputs, clicks,
// waits for document.body.dataset.state to be "ready" again — for test/web.test.ts and
// scripts/web-screenshots.ts.
import type { Page } from './chromium.ts';

const ready = 'document.body.dataset.state === "ready"';

export async function waitLoaded(page: Page, ms: number): Promise<void> {
  await page.waitFor(ready, ms);
}

/** Generates with the page's controls; returns the text shown. */
export async function generateInPage(page: Page, o: { prompt?: string; maxTokens: number; temperature: number; seed?: number }, ms: number): Promise<string> {
  await page.eval(`(() => {
    const set = (id, v) => { document.getElementById(id).value = v; };
    set('prompt', ${JSON.stringify(o.prompt ?? '')}); set('max-tokens', ${o.maxTokens}); set('temperature', ${o.temperature}); set('seed', ${o.seed ?? 42});
    document.getElementById('generate').click();
  })()`);
  await page.waitFor('document.body.dataset.state === "generating"', 5000).catch(() => {});
  await page.waitFor(ready, ms);
  return page.eval<string>('document.getElementById("output").textContent');
}

/** Fine-tunes with the page's controls on `text`; returns the adapter's sha256 the page shows. */
export async function finetuneInPage(page: Page, text: string, steps: number, ms: number): Promise<string> {
  await page.eval(`(() => {
    document.getElementById('train-text').value = ${JSON.stringify(text)};
    document.getElementById('steps').value = ${steps};
    document.getElementById('adapter-sha').dataset.sha256 = '';
    document.getElementById('finetune').click();
  })()`);
  await page.waitFor('document.getElementById("adapter-sha").dataset.sha256', ms);
  await page.waitFor(ready, ms);
  return page.eval<string>('document.getElementById("adapter-sha").dataset.sha256');
}
