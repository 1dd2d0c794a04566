import type { LookupFunction } from 'node:net';

/** The part of fetch that postJson uses, so undici's and the global fetch's types both fit. */
export type PlainFetch = (url: string, init: RequestInit) => Promise<Response>;

/**
 * A WHATWG fetch whose every new connection resolves its host through `lookup` (a `guardedLookup`),
 * with its own keep-alive pool. Node's global fetch is undici, but it takes a connector only through
 * an undici `Agent`, and an Agent from another undici major than the one Node bundles is not
 * guaranteed to work with it; so this uses the `undici` package's fetch and Agent together (same
 * implementation, one version). Loaded on first use: only `QUIRE_HTTP_CLIENT=fetch` needs it.
 */
export function fetchThroughLookup(lookup: LookupFunction): PlainFetch {
  let ready: Promise<PlainFetch> | undefined;
  const load = async (): Promise<PlainFetch> => {
    const { Agent, fetch } = await import('undici');
    const dispatcher = new Agent({ connect: { lookup } });
    return (url, init) => fetch(url, { ...(init as Parameters<typeof fetch>[1]), dispatcher }) as unknown as Promise<Response>;
  };
  return async (url, init) => {
    // A failed load is not kept: the next call tries again rather than failing for good.
    ready ??= load().catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return (await ready)(url, init);
  };
}
