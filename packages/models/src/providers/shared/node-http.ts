import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { fetchThroughLookup, type PlainFetch } from '../../net/guarded-fetch.js';
import { HTTP_HOOKS, type HookedSignal } from './http-hooks.js';

/** What the adapters read from a provider response: the subset that `fetch`'s Response and ours share. */
export interface HttpResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null;
  text(): Promise<string>;
}

// Keep-alive pools shared by every provider; LIFO reuses the warmest socket and lets spare ones idle out.
const agents = {
  'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo', maxFreeSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo', maxFreeSockets: 256 }),
};

interface Target {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: string;
  path: string;
  /** `protocol//host:port`, the key of the egress guards. */
  origin: string;
}
const targets = new Map<string, Target>();

function originOf(protocol: string, hostname: string, port: string): string {
  return `${protocol}//${hostname}:${port || (protocol === 'https:' ? '443' : '80')}`;
}

/**
 * DNS lookups that check the addresses a provider's connections may reach, by origin. The model
 * registry installs one per configured provider (its SSRF policy); origins without one (an adapter
 * built directly in code) connect as usual. Pooled sockets were checked when they connected. Both
 * of Quire's own transports use them: `nodePost` and, under `QUIRE_HTTP_CLIENT=fetch`, `guardedFetch`.
 */
const egressGuards = new Map<string, { lookup: LookupFunction; fetch?: PlainFetch }>();

export function setEgressGuard(baseURL: string, lookup: LookupFunction): void {
  const u = new URL(baseURL);
  egressGuards.set(originOf(u.protocol, u.hostname.replace(/^\[|\]$/g, ''), u.port), { lookup });
}
function targetOf(url: string): Target {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`unsupported protocol ${u.protocol}`);
    // IPv6 literals come bracketed from URL; node:http wants them bare.
    const hostname = u.hostname.replace(/^\[|\]$/g, '');
    t = { protocol: u.protocol, hostname, port: u.port, path: `${u.pathname}${u.search}`, origin: originOf(u.protocol, hostname, u.port) };
    if (targets.size < 1024) targets.set(url, t);
  }
  return t;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Network failures look like fetch's (`TypeError('fetch failed', { cause })`), so error mapping is unchanged. */
function fetchFailed(error: unknown): unknown {
  if ((error as { name?: string } | null)?.name === 'AbortError' || (error as { name?: string } | null)?.name === 'TimeoutError') return error;
  return new TypeError('fetch failed', { cause: error });
}

class NodeHttpResponse implements HttpResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: AsyncIterable<Uint8Array>;
  private readonly stream: Readable;

  constructor(private readonly res: IncomingMessage) {
    this.status = res.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status < 300;
    const raw = res.headers;
    this.headers = {
      get(name: string) {
        const value = raw[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    };
    this.stream = decoded(res);
    this.body = this.stream;
  }

  /** The raw header record (error mapping reads retry-after and request ids from it). */
  get rawHeaders(): IncomingMessage['headers'] {
    return this.res.headers;
  }

  text(): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      this.stream.on('data', (c: Buffer) => chunks.push(c));
      this.stream.once('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
      this.stream.once('error', (e) => reject(fetchFailed(e)));
    });
  }
}

/** fetch decompresses transparently; a provider that compresses anyway gets the same here. */
function decoded(res: IncomingMessage): Readable {
  const encoding = res.headers['content-encoding'];
  if (!encoding || encoding === 'identity') return res;
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip' ? zlib.createGunzip() : encoding === 'br' ? zlib.createBrotliDecompress() : encoding === 'deflate' ? zlib.createInflate() : undefined;
  if (!decoder) return res;
  res.on('error', (e) => decoder.destroy(e));
  return res.pipe(decoder);
}

/**
 * POSTs a body over node:http(s) with keep-alive pools: several times cheaper per call than undici's
 * `fetch` (no WHATWG Request/Headers/stream objects). The abort signal cancels the request and, once
 * the response has started, its body (the body then fails with the signal's reason, as fetch does).
 */
export function nodePost(url: string, headers: Record<string, string>, body: string, signal?: AbortSignal): Promise<NodeHttpResponse> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    let target: Target;
    try {
      target = targetOf(url);
    } catch (error) {
      return reject(new TypeError('fetch failed', { cause: error }));
    }
    const req = (target.protocol === 'https:' ? https : http).request({
      protocol: target.protocol, hostname: target.hostname, port: target.port, path: target.path, method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: agents[target.protocol],
      lookup: egressGuards.get(target.origin)?.lookup,
    });
    const connected = (signal as HookedSignal | undefined)?.[HTTP_HOOKS]?.connected;
    if (connected) {
      req.once('socket', (socket) => {
        if (!socket.connecting) return connected();
        socket.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
      });
    }
    let res: IncomingMessage | undefined;
    const onAbort = () => {
      const reason = abortReason(signal!);
      if (res) res.destroy(reason as Error);
      req.destroy(reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    // `on`, not `once`: a socket can fail again after the first error, and an unheard 'error' would crash the process.
    req.on('error', (error) => {
      done();
      reject(signal?.aborted ? abortReason(signal) : fetchFailed(error));
    });
    req.once('response', (response) => {
      res = response;
      response.once('close', done);
      resolve(new NodeHttpResponse(response));
    });
    // A string body goes out in the same write as the request head (a Buffer would take a second chunk: writev).
    req.end(body, 'utf8');
  });
}

/**
 * The `fetch` transport (`QUIRE_HTTP_CLIENT=fetch`): the global fetch for origins without a guard,
 * and for guarded ones a fetch whose connections resolve through the guard, so the switch does not
 * turn the egress check off. Literal-IP hosts skip DNS here as in `nodePost` (the registry checks
 * those when it is built).
 */
export function guardedFetch(url: string, init: RequestInit): Promise<Response> {
  let target: Target;
  try {
    target = targetOf(url);
  } catch (error) {
    return Promise.reject(new TypeError('fetch failed', { cause: error }));
  }
  const guard = egressGuards.get(target.origin);
  if (!guard) return globalThis.fetch(url, init);
  guard.fetch ??= fetchThroughLookup(guard.lookup);
  return guard.fetch(url, init);
}

export type { NodeHttpResponse };
