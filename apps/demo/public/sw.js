// The page offline: its own files (the page, its hashed assets, the corpus) are kept in a cache as
// they are fetched, network first so a new build is picked up, the cache when the network fails.
// The model's files are cached by the page itself (src/model-cache.ts) and pass through here.
const CACHE = 'hsa-demo-app-v1';
const OWN = /\/(assets\/[^/]+|data\/tinyshakespeare\.txt|index\.html|)$/;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (e) {
    const hit = await cache.match(request, { ignoreSearch: true });
    if (hit) return hit;
    throw e;
  }
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !OWN.test(url.pathname)) return;
  event.respondWith(networkFirst(event.request));
});
