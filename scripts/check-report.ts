// Renders `edgeq plan --report` pages in headless Chromium and checks the screenshots
// (`npm run check:report`). A script, not a test: Chromium is a ~100 MB Debian install that
// the suite does not need otherwise. Without chromium it prints a note and exits 0 locally;
// under CI (process.env.CI) it installs it (scripts/setup-deps.sh with EDGEQ_WITH_CHROMIUM=1,
// as root) or fails.
//
// Checks per page: the PNG exists, is 1200x900, is not blank (many distinct colours) and
// shows the bars: pixels of the exact fill colours of the bit widths the plan chose.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SHAPES, writeSynth } from '../compiler/synth/synth.ts';
import { BITS_COLOURS } from '../compiler/plan/report.ts';
import { decodePng } from '../test/helpers/png.ts';

const ROOT = resolve(import.meta.dirname, '..');
const has = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
let chromium = ['chromium', 'chromium-browser', 'google-chrome'].find(has);
if (!chromium) {
  if (!process.env.CI) { console.log('check-report: chromium not installed; skipped (apt-get install -y chromium, or EDGEQ_WITH_CHROMIUM=1 bash scripts/setup-deps.sh as root)'); process.exit(0); }
  const r = spawnSync('bash', [join(ROOT, 'scripts/setup-deps.sh')], { stdio: 'inherit', env: { ...process.env, EDGEQ_WITH_CHROMIUM: '1' } });
  chromium = ['chromium', 'chromium-browser', 'google-chrome'].find(has);
  if (r.status !== 0 || !chromium) { console.error('check-report: CI and chromium could not be installed'); process.exit(1); }
}

const dir = mkdtempSync(join(tmpdir(), 'edgeq-report-'));
const edgeq = (...a: string[]) => {
  const r = spawnSync(process.execPath, ['bin/edgeq.mjs', ...a], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`edgeq ${a.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
let failed = 0;
try {
  const ckpt = join(dir, 's.bin');
  writeSynth(ckpt, { ...SHAPES.stories260K }, 7);
  const cases: Array<[string, string[]]> = [
    ['rule', ['--bits', '8,4,2']],
    ['budget', ['--bits', '8,4', '--budget-bytes', '300000']],
  ];
  for (const [name, args] of cases) {
    const html = join(dir, `${name}.html`), png = join(dir, `${name}.png`), prof = join(dir, `prof-${name}`);
    edgeq('plan', ckpt, ...args, '-o', join(dir, `${name}.json`), '--report', html);
    const plan = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
    const chosen = [...new Set(Object.values(plan.blocks as Record<string, { bits: number }>).map((b) => b.bits))];
    const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', `--user-data-dir=${prof}`, `--screenshot=${png}`, '--window-size=1200,900', `file://${html}`], { encoding: 'utf8', timeout: 120_000 });
    const problems: string[] = [];
    if (!existsSync(png)) problems.push(`no screenshot (chromium exit ${r.status}: ${(r.stderr ?? '').slice(-400)})`);
    else {
      const img = decodePng(readFileSync(png));
      if (img.w !== 1200 || img.h !== 900) problems.push(`screenshot is ${img.w}x${img.h}, expected 1200x900`);
      const colours = new Set<number>(), found = new Set<number>();
      const want = new Map(chosen.map((b) => [parseInt(BITS_COLOURS[b].slice(1), 16), b]));
      for (let y = 0; y < img.h; y += 2) for (let x = 0; x < img.w; x += 2) {
        const [R, G, B] = img.px(x, y), c = (R << 16) | (G << 8) | B;
        colours.add(c);
        if (want.has(c)) found.add(want.get(c)!);
      }
      if (colours.size < 50) problems.push(`only ${colours.size} distinct colours: blank or unstyled page`);
      for (const b of chosen) if (!found.has(b)) problems.push(`no ${b}-bit bar colour ${BITS_COLOURS[b]} in the screenshot`);
      console.log(`check-report: ${name}: ${png} ${img.w}x${img.h}, ${colours.size} colours, bars for bits ${chosen.join(',')}: ${problems.length ? 'FAIL' : 'ok'}`);
    }
    for (const p of problems) { console.error(`check-report: ${name}: ${p}`); failed++; }
  }
} finally {
  if (!process.env.EDGEQ_KEEP) rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
