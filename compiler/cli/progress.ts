// Progress of long operations on stderr (stdout stays clean for results). On a terminal
// one line is rewritten in place; otherwise (logs, CI) a line is printed every 10%, and
// only for work big enough that someone might wonder whether it hung.
const MB = 1 << 20;

export interface Progress { update: (done: number, total: number) => void; done: () => void }

export function progressReporter(label: string, minTotal = 64 * MB): Progress {
  const tty = process.stderr.isTTY;
  let lastShown = -1;
  let active = false;
  return {
    update(done, total) {
      if (total < minTotal) return;
      const pct = Math.floor((100 * done) / total);
      const step = tty ? pct : Math.floor(pct / 10) * 10;
      if (step === lastShown) return;
      lastShown = step;
      active = true;
      const line = `${label}: ${String(pct).padStart(3)}% (${(done / MB).toFixed(0)} / ${(total / MB).toFixed(0)} MB)`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    done() {
      if (active && tty) process.stderr.write('\n');
    },
  };
}

/**
 * Progress of work counted in items (tokens, steps): on a terminal one line rewritten in
 * place, otherwise a line every 10%.
 */
export function countReporter(label: string, unit: string): Progress {
  const tty = process.stderr.isTTY;
  let lastShown = -1;
  let active = false;
  return {
    update(done, total) {
      const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
      const step = tty ? pct : Math.floor(pct / 10) * 10;
      if (step === lastShown) return;
      lastShown = step;
      active = true;
      const line = `${label}: ${String(pct).padStart(3)}% (${done} / ${total} ${unit})`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    done() {
      if (active && tty) process.stderr.write('\n');
    },
  };
}
