// `edgeq finetune --report loss.html`: a self-contained HTML page (no scripts, no external
// assets) with an inline SVG of the training loss per step (points, and the running mean
// over the last 10 steps as a line), the held-out loss before/after when measured, and the
// run's settings. Same style as the plan report (compiler/plan/report.ts). Deterministic:
// the same run gives the same bytes (no dates, fixed number formatting).

import { decimalsFor as decimalsOf, esc, n1, reportPage, ticks as ticksOf } from '../util/svg-chart.ts';

const ticks = (lo: number, hi: number) => ticksOf(lo, hi, 6);
const decimalsFor = (vals: number[]) => decimalsOf(vals, 3);

/** Steps the running mean averages over. */
export const RUNNING_WINDOW = 10;

/** Mean of the last min(RUNNING_WINDOW, i + 1) losses ending at index i. */
export function runningMean(losses: readonly number[], i: number): number {
  const from = Math.max(0, i + 1 - RUNNING_WINDOW);
  let s = 0;
  for (let j = from; j <= i; j++) s += losses[j];
  return s / (i + 1 - from);
}

/** Mean loss of the first and of the last k steps, k = min(RUNNING_WINDOW, n / 2) (at least 1). */
export function firstLast(losses: readonly number[]): { k: number; first: number; last: number } {
  const n = losses.length;
  const k = Math.max(1, Math.min(RUNNING_WINDOW, Math.floor(n / 2)));
  const mean = (a: readonly number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  return { k, first: mean(losses.slice(0, k)), last: mean(losses.slice(n - k)) };
}

export interface LossReport {
  /** e.g. the bundle directory's name. */
  title: string;
  /** Settings shown under the title, e.g. [["rank", "8"], ["lr", "0.05"]]. */
  settings: Array<[string, string]>;
  /** Step number of losses[0] (0, or where a resumed run continued). */
  startStep: number;
  /** Mean training loss (nats) of each step of this run. */
  losses: number[];
  heldOut?: { before: number; after: number; windows: number };
}

export function lossReportHtml(r: LossReport): string {
  const W = 1000, H = 420, padL = 70, padR = 30, padT = 30, padB = 50;
  const plotW = W - padL - padR, plotH = H - padT - padB;
  const n = r.losses.length;
  const svg: string[] = [];
  if (n === 0) {
    svg.push(`<text x="${padL}" y="${padT + 20}" class="t">No steps were run.</text>`);
  } else {
    const extra = r.heldOut ? [r.heldOut.before, r.heldOut.after] : [];
    let lo = Math.min(...r.losses, ...extra), hi = Math.max(...r.losses, ...extra);
    if (hi - lo < 1e-9) { lo -= 0.05; hi += 0.05; }
    const pad = (hi - lo) * 0.08; lo = Math.max(0, lo - pad); hi += pad;
    const first = r.startStep + 1, last = r.startStep + n; // step k's loss is shown at k (steps done)
    const x = (step: number) => padL + (last === first ? plotW / 2 : ((step - first) / (last - first)) * plotW);
    const y = (v: number) => padT + plotH - ((v - lo) / (hi - lo)) * plotH;
    const yt = ticks(lo, hi), yd = decimalsFor(yt);
    svg.push(`<rect x="${padL}" y="${padT}" width="${plotW}" height="${plotH}" class="frame"/>`);
    for (const v of yt) svg.push(`<line x1="${padL}" x2="${padL + plotW}" y1="${n1(y(v))}" y2="${n1(y(v))}" class="grid"/><text x="${padL - 6}" y="${n1(y(v) + 4)}" class="ax" text-anchor="end">${v.toFixed(yd)}</text>`);
    for (const s of ticks(first, last).filter((s) => Number.isInteger(s) && s >= first && s <= last)) {
      svg.push(`<line x1="${n1(x(s))}" x2="${n1(x(s))}" y1="${padT + plotH}" y2="${padT + plotH + 4}" class="axl"/><text x="${n1(x(s))}" y="${padT + plotH + 17}" class="ax" text-anchor="middle">${s}</text>`);
    }
    svg.push(`<text x="${padL + plotW / 2}" y="${H - 8}" class="ax" text-anchor="middle">step</text>`);
    svg.push(`<text x="16" y="${padT + plotH / 2}" class="ax" text-anchor="middle" transform="rotate(-90 16 ${padT + plotH / 2})">loss (nats per token)</text>`);
    if (r.heldOut) {
      for (const [name, v, cls] of [['held-out before', r.heldOut.before, 'hb'], ['held-out after', r.heldOut.after, 'ha']] as const) {
        svg.push(`<line x1="${padL}" x2="${padL + plotW}" y1="${n1(y(v))}" y2="${n1(y(v))}" class="${cls}"/><text x="${padL + plotW - 4}" y="${n1(y(v) - 4)}" class="ax" text-anchor="end">${name} ${v.toFixed(4)}</text>`);
      }
    }
    // Points for every step when they are few enough to see; the running mean always.
    if (n <= 2000) r.losses.forEach((l, i) => svg.push(`<circle cx="${n1(x(first + i))}" cy="${n1(y(l))}" r="2" class="pt"><title>step ${first + i}: ${l.toFixed(4)}</title></circle>`));
    svg.push(`<polyline points="${r.losses.map((_, i) => `${n1(x(first + i))},${n1(y(runningMean(r.losses, i)))}`).join(' ')}" class="mline"/>`);
  }
  const fl = firstLast(r.losses);
  const summary = n
    ? `steps ${r.startStep + 1}–${r.startStep + n}: loss ${fl.first.toFixed(4)} → ${fl.last.toFixed(4)} (mean of the first and the last ${fl.k} steps; line: running mean of ${RUNNING_WINDOW})`
    : 'no steps';
  return reportPage(`edgeq finetune: ${r.title}`, `svg .pt{fill:#90cdf4}svg .mline{fill:none;stroke:#2b6cb0;stroke-width:2}
svg .hb{stroke:#a0aec0;stroke-dasharray:6 4}svg .ha{stroke:#38a169;stroke-dasharray:6 4;stroke-width:2}`, `<p class="m">${esc(summary)}${r.heldOut ? ` · held-out loss ${r.heldOut.before.toFixed(4)} → ${r.heldOut.after.toFixed(4)} over ${r.heldOut.windows} windows` : ''}</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="training loss per step">
${svg.join('\n')}
</svg>
<table><tbody>
${r.settings.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n')}
</tbody></table>`);
}
