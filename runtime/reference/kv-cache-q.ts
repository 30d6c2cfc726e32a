// The integer reference's quantized KV cache (docs/integer-spec.md §3.7.1): one layer's
// arrays exactly as the lowering's slots (kv_store_q.ts's layout, with the anchor rows
// after the ring rows and the anchor state), per layer.
import { anchorSlots, anchorStateElems, type KvFormat } from '../../compiler/quantize/kv-cache.ts';
import type { AttentionScratch } from '../kernels/reference/attention.ts';
import { attentionQ } from '../kernels/reference/attention_q.ts';
import { kvSlotBytes, kvStoreQ } from '../kernels/reference/kv_store_q.ts';
import { kvKScaleBase, kvKScaleMElems } from '../kernels/reference/kv_kblock.ts';

interface LayerCache { kc: Int8Array; kM: Int16Array; kE: Int8Array; vc: Int8Array; vM: Int16Array; vE: Int8Array; st: Int32Array }

export class QuantKvCache {
  private readonly layers: LayerCache[] = [];
  private readonly row8: Int8Array;
  private readonly sc = new Int32Array(4);
  private readonly window: number;
  /** Anchor slots per kv head. */
  readonly A: number;

  constructor(readonly f: KvFormat, nLayers: number, readonly S: number, readonly nKv: number, readonly hs: number) {
    const kvD = nKv * hs, W = f.window < S ? f.window : S, A = anchorSlots(f, S), rows = (S + W + A) * nKv;
    const kRows = (kvKScaleBase(S, f.kBlock) + W + A) * nKv;
    this.window = W; this.A = A;
    for (let l = 0; l < nLayers; l++) {
      this.layers.push({
        kc: new Int8Array(kvSlotBytes(S, kvD, f.kBits, W + A)), kM: new Int16Array(kvKScaleMElems(S, nKv, hs, f.kBlock, W + A)), kE: new Int8Array(kRows),
        vc: new Int8Array(kvSlotBytes(S, kvD, f.vBits, W + A)), vM: new Int16Array(rows), vE: new Int8Array(rows),
        st: new Int32Array(anchorStateElems(S, nKv, A)),
      });
    }
    this.row8 = new Int8Array(hs);
  }

  store(l: number, k: Int32Array, v: Int32Array, pos: number): void {
    const c = this.layers[l];
    kvStoreQ(c.kc, c.kM, c.kE, c.vc, c.vM, c.vE, k, v, pos, this.S, this.nKv, this.hs, this.f.kBits, this.f.vBits, this.window, this.A, this.f.kBlock, c.st, this.row8, this.sc);
  }

  attend(l: number, out: Int32Array, q: Int32Array, pos: number, nHeads: number, attM: number, attE: number, exp2: Int16Array, s: AttentionScratch): void {
    const c = this.layers[l];
    attentionQ(out, q, pos, c.kc, c.kM, c.kE, c.vc, c.vM, c.vE, this.S, nHeads, this.nKv, this.hs, attM, attE,
      this.f.kBits, this.f.vBits, this.window, this.A, this.f.kBlock, c.st, exp2, s);
  }
}
