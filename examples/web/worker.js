// The page's Web Worker: holds the model and does all the work (loading, generating,
// fine-tuning), so the page stays responsive. It speaks in small messages (see app.js).
import { loadBundle } from '../../dist/edgeq.js';

let model = null;
let stop = null;

const post = (msg, transfer = []) => self.postMessage(msg, transfer);

self.onmessage = async ({ data: m }) => {
  try {
    if (m.type === 'stop') { stop?.abort(); return; }
    if (m.type === 'load') {
      model = await loadBundle(m.bundle, { onProgress: (p) => post({ type: 'progress', ...p }) });
      post({ type: 'loaded', info: model.info });
    } else if (m.type === 'generate') {
      stop = new AbortController();
      const g = model.generate(m.prompt, { maxTokens: m.maxTokens, temperature: m.temperature, topP: m.topP, seed: m.seed, signal: stop.signal });
      let text = '', tokens = 0, t0 = performance.now();
      for await (const t of g) {
        text += t.text;
        tokens++;
        post({ type: 'token', text: t.text, tokens, elapsed: performance.now() - t0 });
      }
      post({ type: 'generated', text, stats: g.stats });
    } else if (m.type === 'finetune') {
      stop = new AbortController();
      const r = await model.finetune(m.text, {
        steps: m.steps, rank: m.rank, lr: m.lr, seqLen: m.seqLen, seed: m.seed, signal: stop.signal,
        onProgress: (p) => post({ type: 'step', ...p }),
      });
      await model.applyAdapter(r.adapter);
      post({ type: 'finetuned', adapter: r.adapter, sha256: r.sha256, losses: r.losses, steps: r.steps }, [r.adapter.buffer]);
    } else if (m.type === 'adapter') {
      await model.applyAdapter(m.adapter);
      post({ type: 'adapter-applied', on: m.adapter !== null });
    }
  } catch (e) {
    post({ type: 'error', message: e && e.message ? e.message : String(e) });
  }
};
