// The page: UI only. The model lives in worker.js (loaded through the edgeq JavaScript API,
// dist/edgeq.js); this file sends it requests and draws what comes back. The bundle's URL
// is the ?bundle= parameter (edgeq serve: /bundle/). document.body.dataset.state tells a
// test (test/web.test.ts) what the page is doing: loading, ready, generating, training, error.
const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL('worker.js', import.meta.url), { type: 'module' });
const bundle = new URL(new URLSearchParams(location.search).get('bundle') ?? '/bundle/', location.href).href;
let losses = [];
let adapterUrl = null;

const setState = (s) => {
  document.body.dataset.state = s;
  const busy = s !== 'ready';
  for (const id of ['generate', 'finetune']) $(id).disabled = busy;
  $('stop').disabled = s !== 'generating' && s !== 'training';
};

const MB = (n) => (n / 1048576).toFixed(2);
const handlers = {
  progress(m) {
    $('load-progress').value = m.total ? m.loaded / m.total : 0;
    $('load-status').textContent = `loading ${m.file}: ${MB(m.loaded)}${m.total ? ` / ${MB(m.total)}` : ''} MB`;
  },
  loaded({ info }) {
    $('load-progress').value = 1;
    $('load-status').textContent = 'loaded';
    $('info').textContent = `${info.nLayers} layers, dim ${info.dim}, ${info.nHeads} heads, vocabulary ${info.vocabSize}, context ${info.seqLen} · ` +
      `target ${info.target}, plan ${info.plan} · fine-tuning on ${info.trainingModule ? 'the training module' : 'the TypeScript reference'} · model.edgeq ${info.sha256.slice(0, 12)}…`;
    setState('ready');
    keepForOffline(info.trainingModule);
  },
  token(m) {
    $('output').textContent += m.text;
    if (m.tokens > 1) $('tps').textContent = `${((m.tokens - 1) / (m.elapsed / 1000)).toFixed(1)} tok/s`;
  },
  generated({ stats }) {
    $('tps').textContent = stats.tokensPerSecond ? `${stats.tokens} tokens, ${stats.tokensPerSecond.toFixed(1)} tok/s` : `${stats.tokens} tokens`;
    setState('ready');
  },
  step(m) {
    losses.push(m.loss);
    drawLoss();
    $('train-status').textContent = `step ${m.step}/${m.steps} · loss ${m.loss.toFixed(4)} nats`;
  },
  finetuned(m) {
    if (adapterUrl) URL.revokeObjectURL(adapterUrl);
    adapterUrl = URL.createObjectURL(new Blob([m.adapter], { type: 'application/octet-stream' }));
    $('download').href = adapterUrl;
    $('download').hidden = false;
    $('adapter-sha').textContent = `sha256 ${m.sha256}`;
    $('adapter-sha').dataset.sha256 = m.sha256;
    $('use-adapter').disabled = false;
    $('use-adapter').checked = true;
    $('train-status').textContent += ` · done: ${m.steps} steps, adapter applied`;
    setState('ready');
  },
  'adapter-applied'() { setState('ready'); },
  error(m) {
    $('load-status').textContent = `error: ${m.message}`;
    $('train-status').textContent = '';
    setState(document.body.dataset.state === 'loading' ? 'error' : 'ready');
    document.body.dataset.error = m.message;
  },
};
worker.onmessage = ({ data }) => handlers[data.type]?.(data);

function drawLoss() {
  const svg = $('loss'), W = 600, H = 200, pad = 8;
  if (losses.length === 0) { svg.innerHTML = ''; return; }
  const lo = Math.min(...losses), hi = Math.max(...losses), span = hi - lo || 1;
  const x = (i) => pad + (losses.length === 1 ? 0 : (i / (losses.length - 1)) * (W - 2 * pad));
  const top = 26; // room for the label
  const y = (v) => top + (1 - (v - lo) / span) * (H - top - pad);
  const pts = losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  svg.innerHTML = `<polyline points="${pts}" fill="none" stroke="#3867e0" stroke-width="2.5" vector-effect="non-scaling-stroke"/>` +
    `<text x="${W - pad}" y="16" text-anchor="end" font-size="13" fill="#5a6275">loss ${losses[0].toFixed(2)} → ${losses.at(-1).toFixed(2)} nats</text>`;
}

$('generate').onclick = () => {
  $('output').textContent = $('prompt').value;
  $('tps').textContent = '';
  setState('generating');
  worker.postMessage({
    type: 'generate', prompt: $('prompt').value, maxTokens: Number($('max-tokens').value),
    temperature: Number($('temperature').value), topP: 0.9, seed: Number($('seed').value),
  });
};
$('stop').onclick = () => worker.postMessage({ type: 'stop' });
$('finetune').onclick = () => {
  losses = [];
  drawLoss();
  $('train-status').textContent = 'tokenizing…';
  setState('training');
  worker.postMessage({ type: 'finetune', text: $('train-text').value, steps: Number($('steps').value), rank: Number($('rank').value), lr: Number($('lr').value) });
};
$('use-adapter').onchange = async () => {
  setState('busy');
  // The adapter's bytes stay in the page (the download link's blob); the worker gets a copy.
  const bytes = $('use-adapter').checked ? new Uint8Array(await (await fetch(adapterUrl)).arrayBuffer()) : null;
  worker.postMessage({ type: 'adapter', adapter: bytes });
};

/**
 * Copies of everything the page needs, for sw.js to answer with when the server is gone.
 * On the first visit the worker fetched before the service worker was in control, so what
 * is not cached yet is fetched once more here.
 */
async function keepForOffline(withTrainModule) {
  if (!('caches' in self) || !navigator.serviceWorker) return;
  const files = ['model.edgeq', 'runtime.wasm', 'manifest.json', ...(withTrainModule ? ['train.wasm'] : [])].map((f) => new URL(f, bundle).href);
  const page = [location.href, new URL('app.js', location.href).href, new URL('worker.js', location.href).href, new URL('style.css', location.href).href,
    new URL('../../dist/edgeq.js', location.href).href];
  const cache = await caches.open('edgeq-page');
  for (const url of [...page, ...files]) if (!await cache.match(url)) await cache.add(url).catch(() => {});
  document.body.dataset.offline = 'ready';
}

setState('loading');
navigator.serviceWorker?.register('sw.js').catch(() => {}); // offline support is optional: http:// on another host has none
worker.postMessage({ type: 'load', bundle });
