/**
 * A fetch for the model's files that keeps them in the Cache API: the first visit downloads them
 * (with progress), later visits read them from the cache and work offline. A cached file is used
 * while the server still describes it the same way (ETag, Last-Modified, length and status of a HEAD
 * request) or cannot be reached; a changed file is fetched again.
 */
export const MODEL_CACHE = 'hsa-demo-models-v1';

export interface CacheLog {
  /** URLs served from the cache */
  cached: string[];
  /** URLs fetched from the network */
  fetched: string[];
}

const VALIDATORS = ['etag', 'last-modified', 'content-length'];

async function stillFresh(url: string, cached: Response, signal?: AbortSignal | null): Promise<boolean> {
  let head: Response;
  try {
    head = await fetch(url, { method: 'HEAD', signal, cache: 'no-store' });
  } catch {
    return true; // offline: the cached copy is what there is
  }
  if (head.status !== cached.status) return false;
  return VALIDATORS.every((h) => head.headers.get(h) === null || cached.headers.get(h) === null || head.headers.get(h) === cached.headers.get(h));
}

/** `fetch` with the model cache in front; falls back to plain fetch where the Cache API is missing. */
export function cachingFetch(log: CacheLog): typeof fetch {
  return async (input, init) => {
    if (typeof caches === 'undefined') return fetch(input, init);
    const url = new URL(String(input instanceof Request ? input.url : input), location.href).href;
    const cache = await caches.open(MODEL_CACHE);
    const hit = await cache.match(url);
    if (hit && (await stillFresh(url, hit, init?.signal))) {
      log.cached.push(url);
      return hit;
    }
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (e) {
      if (!hit) throw e;
      log.cached.push(url);
      return hit;
    }
    // stored while the caller reads the other branch of the body, so progress still streams
    if (res.ok || res.status === 404) void cache.put(url, res.clone()).catch(() => {});
    log.fetched.push(url);
    return res;
  };
}
