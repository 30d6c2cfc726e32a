// Static arena layout: every slot gets a 16-byte aligned offset such that two slots whose
// lifetimes overlap never share bytes. Lifetimes are [first op, last op] over the ordered
// op list of one forward step; persistent slots (KV cache, the step's outputs) live for
// the whole step and beyond. Greedy placement, largest first (ties by slot order), each
// at the lowest offset free of conflicting slots: deterministic and simple, and the
// per-layer temporaries of a transformer step fold onto one another.
export interface SlotLife {
  /** Bytes (before rounding up to 16). */
  size: number;
  first: number;
  last: number;
}

const ALIGN = 16;
const up = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** Offsets per slot (same order as `slots`) and the arena size (a multiple of 16). */
export function layoutArena(slots: SlotLife[]): { offsets: number[]; arenaSize: number } {
  const order = slots.map((_, i) => i).sort((a, b) => up(slots[b].size) - up(slots[a].size) || a - b);
  const offsets = new Array<number>(slots.length).fill(-1);
  const placed: number[] = [];
  let arenaSize = 0;
  for (const i of order) {
    const s = slots[i], size = up(s.size);
    // Byte ranges of placed slots alive at the same time, by start.
    const busy = placed
      .filter((j) => slots[j].first <= s.last && s.first <= slots[j].last)
      .map((j) => [offsets[j], offsets[j] + up(slots[j].size)] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let off = 0;
    for (const [lo, hi] of busy) {
      if (off + size <= lo) break;
      if (hi > off) off = hi;
    }
    offsets[i] = off;
    placed.push(i);
    arenaSize = Math.max(arenaSize, off + size);
  }
  return { offsets, arenaSize: up(arenaSize) };
}
