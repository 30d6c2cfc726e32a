// Headless Chromium driven through the DevTools protocol over a pipe
// (--remote-debugging-pipe: JSON messages separated by NUL bytes on file descriptors 3 and
// 4), so no WebSocket client or driver package is needed. Enough for test/web.test.ts and
// scripts/web-screenshots.ts: open a page, evaluate expressions, wait for a condition, take
// a screenshot.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome'];
const has = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;

/** The Chromium binary, installing Debian's under CI (scripts/setup-deps.sh); null when absent locally. */
export function findChromium(root: string): string | null {
  let found = CANDIDATES.find(has) ?? null;
  if (!found && process.env.CI) {
    spawnSync('bash', [join(root, 'scripts/setup-deps.sh')], { stdio: 'inherit', env: { ...process.env, EDGEQ_WITH_CHROMIUM: '1' } });
    found = CANDIDATES.find(has) ?? null;
    if (!found) throw new Error('CI: chromium is needed by the browser test and could not be installed (scripts/setup-deps.sh with EDGEQ_WITH_CHROMIUM=1, as root)');
  }
  return found;
}

type Pending = { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void; method: string };

export class Browser {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private buffered = '';
  private constructor(private readonly proc: ChildProcess, private readonly profile: string) {
    const out = proc.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      this.buffered += chunk;
      let end: number;
      while ((end = this.buffered.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buffered.slice(0, end));
        this.buffered = this.buffered.slice(end + 1);
        const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
        if (!p) continue; // events: not needed
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result);
      }
    });
  }

  static launch(binary: string, size = { width: 1280, height: 900 }): Browser {
    const profile = mkdtempSync(join(tmpdir(), 'edgeq-chromium-'));
    const proc = spawn(binary, [
      '--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe', `--user-data-dir=${profile}`,
      '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--window-size=${size.width},${size.height}`, 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
    return new Browser(proc, profile);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      (this.proc.stdio[3] as Writable).write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  }

  async open(url: string, size = { width: 1280, height: 900 }): Promise<Page> {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' }) as { targetId: string };
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true }) as { sessionId: string };
    const page = new Page(this, sessionId);
    await page.send('Emulation.setDeviceMetricsOverride', { width: size.width, height: size.height, deviceScaleFactor: 1, mobile: false });
    await page.send('Page.enable');
    await page.send('Page.navigate', { url });
    return page;
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => (this.proc.exitCode !== null ? r(null) : this.proc.once('exit', r)));
    try { await Promise.race([this.send('Browser.close'), new Promise((r) => setTimeout(r, 3000))]); } catch { /* already gone */ }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.proc.exitCode === null && this.proc.signalCode === null) { this.proc.kill(); await exited; }
    rmSync(this.profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

export class Page {
  constructor(private readonly browser: Browser, private readonly sessionId: string) {}

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.browser.send(method, params, this.sessionId);
  }

  /** The value of a JavaScript expression in the page (awaited if a promise). */
  async eval<T = unknown>(expression: string): Promise<T> {
    const r = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }) as { result: { value: T }; exceptionDetails?: { text: string; exception?: { description?: string } } };
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** Polls `expression` until it is truthy; throws after `ms` with what `describe` says then. */
  async waitFor(expression: string, ms: number, describe = 'document.body.dataset.state + " " + (document.body.dataset.error ?? "")'): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      try { if (await this.eval<boolean>(`!!(${expression})`)) return; } catch { /* page still loading */ }
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${expression} (page: ${await this.eval(describe).catch((e) => String(e))})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async screenshot(): Promise<Buffer> {
    const { data } = await this.send('Page.captureScreenshot', { format: 'png' }) as { data: string };
    return Buffer.from(data, 'base64');
  }
}
