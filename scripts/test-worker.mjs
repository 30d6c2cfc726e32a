// One worker of the parallel test runner (scripts/test.mjs). It stays alive for many test
// files so that heavy modules (binaryen, assemblyscript) load once per worker, not once per
// file. For each file the parent sends, it imports the file under uvu's deferred mode,
// runs the suites the file registered, and sends back the counts and the file's output.
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

// binaryen and AssemblyScript load before tsx's loader is registered: ~2 s per worker instead
// of ~34 s (compiler/util/heavy.ts); most test files need them.
await import('binaryen');
await import('assemblyscript/asc');
register();
globalThis.UVU_DEFER = 1;
await import('uvu'); // sets up uvu's globals before any test file imports it

let output = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk) => { output += String(chunk); return true; };
process.stderr.write = (chunk) => { output += String(chunk); return true; };

async function runFile(rel, abs) {
  output = '';
  globalThis.UVU_QUEUE = [[rel]];
  globalThis.UVU_INDEX = 0;
  const start = process.hrtime.bigint();
  let total = 0, passed = 0, skipped = 0, failedFiles = 0;
  const cwd = process.cwd();
  try {
    await import(pathToFileURL(abs).href);
    // The same loop as uvu's own exec(): each registered suite returns its counts.
    const group = globalThis.UVU_QUEUE[0];
    output += `${group.shift()}\n`;
    for (const suite of group) {
      const [errs, ran, skip, max] = await suite();
      total += max; passed += ran; skipped += skip;
      if (errs !== true) output += `\n${errs}\n`;
    }
  } catch (e) {
    // A file that throws while loading counts as one failed test, with its error shown.
    failedFiles = 1;
    output += `\n  ✘ ${rel} failed to load:\n${e?.stack ?? e}\n`;
  } finally {
    if (process.cwd() !== cwd) process.chdir(cwd);
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { rel, total: total + failedFiles, passed, skipped, ms, output };
}

process.on('message', async (msg) => {
  if (msg.type === 'run') {
    const r = await runFile(msg.rel, msg.abs);
    process.send({ type: 'done', ...r });
  } else if (msg.type === 'exit') {
    process.stdout.write = write;
    process.disconnect();
  }
});
process.send({ type: 'ready' });
