// `edgeq plan --report plan.html`: a self-contained HTML page (no scripts, no external
// assets) describing an EWQ plan: an inline SVG chart with three panels — block entropy
// (line and points, with the k·σ thresholds when the rule was used; for --method damage the
// measured ΔKL per block instead, with its thresholds), bytes per block as bars
// coloured by the chosen bits, and the exact size (stacked: embedding/classifier/tables,
// blocks, format overhead of model.edgeq, and with a budget the runtime or firmware code it
// also covers) against the budget line — and the plan table.
// Deterministic: the same plan gives the same bytes (no dates, no paths beyond what the
// caller passes as the title, fixed number formatting).
import type { EwqPlan } from './ewq.ts';
import { decimalsFor as decimalsOf, esc, n1, reportPage, ticks as ticksOf } from '../util/svg-chart.ts';

/** Colour of each bit width (bars, legend, table). */
export const BITS_COLOURS: Record<number, string> = { 8: '#2b6cb0', 6: '#319795', 5: '#2f855a', 4: '#38a169', 3: '#d69e2e', 2: '#dd6b20', 1: '#c53030' };

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const ticks = (lo: number, hi: number) => ticksOf(lo, hi, 5);
const decimalsFor = (vals: number[]) => decimalsOf(vals, 4);

export interface ReportInfo {
  /** Title (e.g. the checkpoint's base name). */
  title: string;
  /** Entropy measure, for the axis label. */
  measure?: string;
}

/** The report page for plan `p`. */
export function planReportHtml(p: EwqPlan, info: ReportInfo): string {
  const W = 1100, padL = 90, padR = 30, plotW = W - padL - padR;
  const L = p.blocks.length;
  const x = (i: number) => padL + (L === 1 ? plotW / 2 : (plotW * (i + 0.5)) / L);
  const bandW = plotW / Math.max(1, L);
  const svg: string[] = [];
  let y0 = 20;

  // Panel 1: entropy per block (FastEWQ plans have none), the measured damage (--method
  // damage), or the sum of its matrices' damage (--method mixed).
  const dm = p.damage, mx = p.mixed;
  const blockDamage = (b: EwqPlan['blocks'][number]) => b.matrices.reduce((s, m) => s + (m.damage ?? NaN), 0);
  const vals = p.blocks.map((b) => (dm ? b.deltaKl ?? NaN : mx ? blockDamage(b) : b.entropy));
  const mean = dm ? dm.mean : mx ? vals.reduce((s, v) => s + v, 0) / Math.max(1, L) : p.mean, std = dm ? dm.std : p.std, sym = dm ? 'ΔKL' : mx ? 'damage' : 'H';
  if (!vals.every(Number.isFinite)) {
    svg.push(`<text x="${padL}" y="${y0 + 10}" class="t">No entropies: ${esc(p.method)} decides from the configuration only (no weights read)</text>`);
    y0 += 50;
  } else {
    const h1 = 220;
    const ents = vals;
    const useRule = !mx && p.budgetBytes === undefined && p.bits.length > 1;
    const lines = useRule ? [mean - p.k * std, mean, mean + p.k * std] : [mean];
    let eLo = Math.min(...ents, ...lines), eHi = Math.max(...ents, ...lines);
    if (eHi - eLo < 1e-12) { eLo -= 1e-3; eHi += 1e-3; }
    const pad = (eHi - eLo) * 0.12; eLo -= pad; eHi += pad;
    const ey = (v: number) => y0 + h1 - ((v - eLo) / (eHi - eLo)) * h1;
    const et = ticks(eLo, eHi), ed = decimalsFor(et);
    svg.push(`<text x="${padL}" y="${y0 - 6}" class="t">${mx
      ? `Damage per block (Σ over its matrices of tr(ΔW H ΔWᵀ)/tr(W H Wᵀ), ${mx.calibrationTokens} calibration tokens${mx.gptq ? ', GPTQ' : ''})`
      : dm
      ? `Measured damage per block (ΔKL, nats/token: the block alone ${dm.hi} → ${dm.lo} bits, ${dm.calibrationTokens} calibration tokens)`
      : `Entropy per block (${esc(info.measure ?? 'softmax entropy, nats')})`}</text>`);
    svg.push(`<rect x="${padL}" y="${y0}" width="${plotW}" height="${h1}" class="frame"/>`);
    for (const v of et) svg.push(`<line x1="${padL}" x2="${padL + plotW}" y1="${n1(ey(v))}" y2="${n1(ey(v))}" class="grid"/><text x="${padL - 6}" y="${n1(ey(v) + 4)}" class="ax" text-anchor="end">${v.toFixed(ed)}</text>`);
    if (useRule) {
      const names = [`mean−${p.k}·σ`, 'mean', `mean+${p.k}·σ`];
      lines.forEach((v, i) => svg.push(`<line x1="${padL}" x2="${padL + plotW}" y1="${n1(ey(v))}" y2="${n1(ey(v))}" class="${i === 1 ? 'mean' : 'thr'}"/><text x="${padL + plotW - 4}" y="${n1(ey(v) - 4)}" class="ax" text-anchor="end">${esc(names[i])}</text>`));
    } else {
      svg.push(`<line x1="${padL}" x2="${padL + plotW}" y1="${n1(ey(mean))}" y2="${n1(ey(mean))}" class="mean"/><text x="${padL + plotW - 4}" y="${n1(ey(mean) - 4)}" class="ax" text-anchor="end">mean</text>`);
    }
    svg.push(`<polyline points="${p.blocks.map((b, i) => `${n1(x(i))},${n1(ey(vals[i]))}`).join(' ')}" class="eline"/>`);
    p.blocks.forEach((b, i) => svg.push(`<circle cx="${n1(x(i))}" cy="${n1(ey(vals[i]))}" r="6" fill="${BITS_COLOURS[b.bits]}" class="pt"><title>block ${b.block}: ${sym}=${vals[i].toFixed(6)} → ${b.bits} bits</title></circle>`));
    y0 += h1 + 50;
  }

  // Panel 2: bytes per block, bars coloured by bits.
  const h2 = 200;
  const bMax = Math.max(...p.blocks.map((b) => b.bytes), 1);
  const bTop = bMax * 1.15;
  const bt = ticks(0, bTop / 1024).map((v) => v * 1024).filter((v) => v <= bTop);
  const by = (v: number) => y0 + h2 - (v / bTop) * h2;
  svg.push(`<text x="${padL}" y="${y0 - 6}" class="t">Bytes per block, coloured by chosen bits${mx ? ' (of its widest matrix: the formats per matrix are in the table below)' : ''}</text>`);
  svg.push(`<rect x="${padL}" y="${y0}" width="${plotW}" height="${h2}" class="frame"/>`);
  for (const v of bt) svg.push(`<line x1="${padL}" x2="${padL + plotW}" y1="${n1(by(v))}" y2="${n1(by(v))}" class="grid"/><text x="${padL - 6}" y="${n1(by(v) + 4)}" class="ax" text-anchor="end">${(v / 1024).toFixed(decimalsFor(bt.map((t) => t / 1024)))} KiB</text>`);
  p.blocks.forEach((b, i) => {
    const bw = Math.min(80, bandW * 0.6), bx = x(i) - bw / 2;
    svg.push(`<rect x="${n1(bx)}" y="${n1(by(b.bytes))}" width="${n1(bw)}" height="${n1(by(0) - by(b.bytes))}" fill="${BITS_COLOURS[b.bits]}"><title>block ${b.block}: ${b.bits} bits, ${b.bytes} bytes</title></rect>`);
    svg.push(`<text x="${n1(x(i))}" y="${n1(by(b.bytes) - 5)}" class="ax" text-anchor="middle">${b.bits}-bit</text>`);
    svg.push(`<text x="${n1(x(i))}" y="${y0 + h2 + 16}" class="ax" text-anchor="middle">${b.block}</text>`);
  });
  svg.push(`<text x="${padL + plotW / 2}" y="${y0 + h2 + 32}" class="ax" text-anchor="middle">block</text>`);
  y0 += h2 + 70;

  // Panel 3: total vs budget.
  const h3 = 44;
  const blocksBytes = p.blocks.reduce((s, b) => s + b.bytes, 0);
  const parts: Array<[string, number, string]> = [
    ['embedding/classifier/tables', p.fixedBytes, '#718096'],
    ['blocks', blocksBytes, '#38a169'],
    ['format overhead', p.overheadBytes, '#a0aec0'],
  ];
  const used = p.budgetUsed ?? p.totalBytes;
  if (used > p.totalBytes) parts.push([p.budgetCovers?.startsWith('the firmware') ? 'firmware code' : 'runtime.wasm', used - p.totalBytes, '#d69e2e']);
  const sMax = Math.max(used, p.budgetBytes ?? 0) * 1.12;
  const sx = (v: number) => padL + (v / sMax) * plotW;
  const fits = p.budgetBytes === undefined || used <= p.budgetBytes;
  svg.push(`<text x="${padL}" y="${y0 - 6}" class="t">${used > p.totalBytes ? `on the device ${used} bytes (${kib(used)}; model.edgeq ${p.totalBytes})` : `model.edgeq ${p.totalBytes} bytes (${kib(p.totalBytes)})`}${p.budgetBytes !== undefined ? ` vs budget ${p.budgetBytes} bytes (${kib(p.budgetBytes)}): ${fits ? 'fits' : 'over'}` : ' (no budget)'}</text>`);
  let acc = 0;
  for (const [name, v, col] of parts) {
    svg.push(`<rect x="${n1(sx(acc))}" y="${y0}" width="${n1(sx(acc + v) - sx(acc))}" height="${h3}" fill="${col}"><title>${esc(name)}: ${v} bytes</title></rect>`);
    acc += v;
  }
  const st = ticks(0, sMax / 1024).map((v) => v * 1024).filter((v) => v <= sMax);
  for (const v of st) svg.push(`<line x1="${n1(sx(v))}" x2="${n1(sx(v))}" y1="${y0 + h3}" y2="${y0 + h3 + 4}" class="axl"/><text x="${n1(sx(v))}" y="${y0 + h3 + 17}" class="ax" text-anchor="middle">${(v / 1024).toFixed(decimalsFor(st.map((t) => t / 1024)))} KiB</text>`);
  if (p.budgetBytes !== undefined) {
    svg.push(`<line x1="${n1(sx(p.budgetBytes))}" x2="${n1(sx(p.budgetBytes))}" y1="${y0 - 4}" y2="${y0 + h3 + 4}" class="budget"/><text x="${n1(sx(p.budgetBytes) + 6)}" y="${y0 + h3 / 2 + 4}" class="ax budgett" text-anchor="start">budget</text>`);
  }
  y0 += h3 + 44;
  // Legends.
  let lx = padL;
  for (const [name, , col] of parts) { svg.push(`<rect x="${lx}" y="${y0}" width="12" height="12" fill="${col}"/><text x="${lx + 16}" y="${y0 + 11}" class="ax">${esc(name)}</text>`); lx += 28 + name.length * 7; }
  lx += 20;
  for (const b of p.bits) { svg.push(`<rect x="${lx}" y="${y0}" width="12" height="12" fill="${BITS_COLOURS[b]}"/><text x="${lx + 16}" y="${y0 + 11}" class="ax">${b}-bit</text>`); lx += 60; }
  const H = y0 + 24;

  const rows = p.blocks.map((b, i) => `<tr><td>${b.block}</td><td>${Number.isFinite(vals[i]) ? vals[i].toFixed(6) : '—'}</td><td><span class="sw" style="background:${BITS_COLOURS[b.bits]}"></span>${b.bits}</td><td>${b.bytes}</td><td>${esc(b.rule)}</td></tr>`);
  const mrows = p.blocks.flatMap((b) => b.matrices.map((m) => `<tr><td>${b.block}</td><td>${m.name}</td><td>${m.rows}×${m.cols}</td><td>${Number.isFinite(m.entropy) ? m.entropy.toFixed(6) : '—'}</td>${mx ? `<td>${m.damage !== undefined ? m.damage.toPrecision(4) : '—'}</td>` : ''}<td>${esc(m.choice.format)}${m.choice.bits === 8 ? '' : ` g${m.choice.groupSize}`}</td><td>${m.bytes}</td><td>${esc(m.choice.rule)}</td></tr>`));
  return reportPage(`edgeq plan: ${info.title}`, `.sw{display:inline-block;width:10px;height:10px;margin-right:5px}
svg .mean{stroke:#4a5568;stroke-dasharray:6 4}svg .thr{stroke:#a0aec0;stroke-dasharray:3 3}
svg .eline{fill:none;stroke:#2d3748;stroke-width:2}svg .pt{stroke:#1a202c;stroke-width:1}
svg .budget{stroke:#c53030;stroke-width:3}svg .budgett{fill:#c53030;font-weight:600}`, `<p class="m">${esc(p.method)} · ${L} blocks · ${mx ? `damage total ${mx.damage.toPrecision(6)}; block matrices ${mx.blockBpw.toFixed(4)} bits per weight${mx.bpwBudget !== undefined ? ` (budget --bpw ${mx.bpwBudget})` : ''}` : dm ? `block ΔKL mean ${dm.mean.toFixed(6)}, std ${dm.std.toFixed(6)}; KL with every block at ${dm.hi} bits ${dm.baseKl.toFixed(6)}` : Number.isFinite(p.mean) ? `block entropy mean ${p.mean.toFixed(6)}, std ${p.std.toFixed(6)}` : 'no entropies'} · model.edgeq ${p.totalBytes} bytes${p.budgetBytes !== undefined ? `, budget ${p.budgetBytes} bytes (covers ${esc(p.budgetCovers ?? 'model.edgeq')}; used ${used})` : ''}</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="plan chart">
${svg.join('\n')}
</svg>
<h2>Blocks</h2>
<table><thead><tr><th>block</th><th>${dm ? 'ΔKL' : mx ? 'damage' : 'entropy'}</th><th>bits</th><th>bytes</th><th>rule</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
<p class="m">blocks ${blocksBytes} + embedding/classifier/tables ${p.fixedBytes} + format overhead ${p.overheadBytes} = ${p.totalBytes} bytes (model.edgeq)</p>
<h2>Matrices</h2>
<table><thead><tr><th>block</th><th>matrix</th><th>shape</th><th>entropy</th>${mx ? '<th>damage</th>' : ''}<th>format</th><th>bytes</th><th>rule</th></tr></thead><tbody>
${mrows.join('\n')}
</tbody></table>`);
}
