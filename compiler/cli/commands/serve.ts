// `edgeq serve <bundle>`: the example web page (examples/web/) with a bundle, on 127.0.0.1:
// the page loads the bundle through the JavaScript API (dist/edgeq.js) in a Web Worker,
// streams generated text and fine-tunes in the browser. Static files only: the bundle's
// training module (train.wasm, from edgeq compile) lets the page fine-tune at the runtime's
// speed instead of the TypeScript reference's (same bytes either way); for a bundle compiled
// with --no-train it is built here once (cached).
import type { Command } from 'commander';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BUNDLE_FILES, TRAIN_WASM } from '../../bundle-files.ts';
import { openBundle } from '../../engines/bundle.ts';
import { EdgeqError } from '../../util/errors.ts';
import { intOption } from '../options.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const PAGE_DIR = join(ROOT, 'examples/web');
const API = join(ROOT, 'dist/edgeq.js');
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8',
  json: 'application/json', wasm: 'application/wasm', svg: 'image/svg+xml', png: 'image/png',
};

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the example web page (examples/web/) with a bundle on 127.0.0.1: generate and fine-tune in the browser through the JavaScript API')
    .argument('<bundle>', 'bundle directory written by edgeq compile (with --tokenizer, so the page can encode text)')
    .option('--port <n>', 'TCP port on 127.0.0.1 (0 = any free port)', intOption('--port', 0, 65535), 8080)
    .option('--no-train', 'do not build the training module (train.wasm): the page then fine-tunes with the TypeScript integer reference (same bytes, slower)')
    .addHelpText('after', `
The page is at http://127.0.0.1:<port>/ (it redirects to /examples/web/?bundle=/bundle/).
The bundle's files are served under /bundle/, the API at /dist/edgeq.js. Only 127.0.0.1
listens: nothing is reachable from other machines. Ctrl-C stops the server.

Examples:
  $ edgeq compile ../shared/models/stories260K.bin --target wasm32 --tokenizer ../shared/models/tok512.bin -o out/s260k
  $ edgeq serve out/s260k
  $ edgeq serve out/s260k --port 0 --no-train
`)
    .action(async (dir: string, opts: { port: number; train: boolean }) => {
      const s = await startServer(dir, { port: opts.port, train: opts.train, log: (m) => process.stderr.write(`${m}\n`) });
      process.stdout.write(`edgeq serve: ${s.url} (bundle ${dir}); Ctrl-C to stop\n`);
      await new Promise<void>((done) => process.once('SIGINT', () => { s.close().then(done); }));
    });
}

export interface ServeOptions { port?: number; train?: boolean; log?: (msg: string) => void }
export interface RunningServer {
  url: string; port: number; close(): Promise<void>;
  /** Settles when the training module is built (true) or will not be offered (false). */
  trainReady: Promise<boolean>;
}

/** Serves the page and the bundle in `dir` on 127.0.0.1 (also used by test/web.test.ts). */
export async function startServer(dir: string, o: ServeOptions = {}): Promise<RunningServer> {
  const bundle = openBundle(dir); // refuses a directory that is not a bundle, before listening
  if (!bundle.artifact.tokenizer) throw new EdgeqError('the bundle has no embedded tokenizer, which the page needs to encode text: compile it with --tokenizer', { file: bundle.artifactPath });
  if (!existsSync(API)) throw new EdgeqError('the JavaScript API is not built: run npm run build:api', { file: API });
  const log = o.log ?? (() => {});
  // The training module, built once in the background (seconds; cached across runs).
  let train: Promise<Uint8Array | null> = Promise.resolve(null);
  // The bundle's own (edgeq compile builds it; checked against the manifest by openBundle), else built here.
  if (o.train !== false && bundle.trainWasm) train = Promise.resolve(bundle.trainWasm);
  else if (o.train !== false) {
    train = (async () => {
      try {
        const { buildTrainRuntime } = await import('../../codegen/train-runtime.ts');
        const a = bundle.artifact;
        log('edgeq serve: building the training module (train.wasm) for in-page fine-tuning');
        return (await buildTrainRuntime(a, { name: a.target.name, simd: a.target.simd })).wasm;
      } catch (e) {
        log(`edgeq serve: no training module (${(e as Error).message}); the page fine-tunes with the TypeScript reference`);
        return null;
      }
    })();
  }
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: Uint8Array | string, type = 'text/plain; charset=utf-8') => {
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      res.writeHead(status, { 'content-type': type, 'content-length': bytes.length, 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    };
    const file = (path: string) => send(200, readFileSync(path), TYPES[path.split('.').pop()!] ?? 'application/octet-stream');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const p = decodeURIComponent(url.pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD\n');
    if (p === '/') { res.writeHead(302, { location: '/examples/web/?bundle=/bundle/' }); return res.end(); }
    if (p === '/dist/edgeq.js') return file(API);
    const page = /^\/examples\/web\/([A-Za-z0-9][A-Za-z0-9._-]*)?$/.exec(p);
    if (page) {
      const name = page[1] ?? 'index.html';
      return existsSync(join(PAGE_DIR, name)) ? file(join(PAGE_DIR, name)) : send(404, 'not found\n');
    }
    const b = /^\/bundle\/([A-Za-z0-9._-]+)$/.exec(p);
    if (b && b[1] === TRAIN_WASM) {
      // The bundle's own train.wasm, one built here for an older bundle, or none with --no-train.
      train.then((w) => (w ? send(200, w, TYPES.wasm) : send(404, 'no training module\n')), (e) => send(500, String(e)));
      return;
    }
    if (b && (BUNDLE_FILES as readonly string[]).includes(b[1])) return existsSync(join(dir, b[1])) ? file(join(dir, b[1])) : send(404, 'not in the bundle\n');
    send(404, 'not found\n');
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(e.code === 'EADDRINUSE' ? new EdgeqError(`port ${o.port} is in use (choose another with --port, or --port 0)`) : e));
    server.listen(o.port ?? 8080, '127.0.0.1', () => ok());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`, port, trainReady: train.then((w) => w !== null, () => false),
    close: () => new Promise<void>((done) => { server.closeAllConnections(); server.close(() => done()); }),
  };
}
