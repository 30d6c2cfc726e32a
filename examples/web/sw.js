// Service worker: lets the page work offline once it has been loaded. Network first (a
// recompiled bundle or a new page is picked up when the server is there), the last copy
// from the cache when it is not. app.js fills the cache with the page, the API and the
// bundle's files after a successful load.
const CACHE = 'edgeq-page';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => {
  if (e.request.method !== 'GET') return;
  e.respondWith((async () => {
    try {
      const res = await fetch(e.request);
      if (res.ok) { const copy = res.clone(); e.waitUntil(caches.open(CACHE).then((c) => c.put(e.request, copy))); }
      return res;
    } catch (err) {
      const hit = await caches.match(e.request, { ignoreSearch: false });
      if (hit) return hit;
      throw err;
    }
  })());
});
