import http from 'node:http';
import https from 'node:https';
import { classifyAddress, classifyHostSync, EGRESS_REFUSED, guardedLookup, hostOf, type HostClass } from '@quire/models';
import { AppError } from '@quire/server-kit';
import { DEFAULT_LIMITS, LIMIT_SETTING, mebibytes } from '../limits.js';

/**
 * What a server-side fetch may reach (SSRF): public hosts, and loopback with `allowLoopback` (tests,
 * a same-host server). Private, link-local, metadata and reserved addresses are refused, including
 * IPv4-mapped, NAT64 and 6to4 forms of them (the shared `classifyAddress` of `@quire/models`).
 */
function admits(hostClass: HostClass, allowLoopback: boolean): boolean {
  return hostClass === 'public' || (hostClass === 'loopback' && allowLoopback);
}

/** Why a resolved address may not be fetched, or undefined when it may. */
export function forbiddenAddressReason(address: string, allowLoopback: boolean): string | undefined {
  const hostClass = classifyAddress(address);
  return admits(hostClass, allowLoopback) ? undefined : `${address} is a forbidden address (${hostClass})`;
}

export interface FetchedUrl {
  bytes: Uint8Array;
  contentType: string | null;
  finalUrl: string;
  filename: string | null;
}

export interface FetchUrlOptions {
  maxBytes: number;
  timeoutMs: number;
  allowLoopback: boolean;
  /** Redirects followed before the fetch is refused; default `DEFAULT_LIMITS.urlMaxRedirects` (QUIRE_INGEST_URL_MAX_REDIRECTS). */
  maxRedirects?: number;
  /**
   * Told the body's size before it is read (when the answer declares it), then the bytes received so
   * far as they arrive; what it throws stops the fetch and is its error (the upload memory's refusal).
   */
  onBytes?: (bytes: number) => void;
}

/**
 * Fetches a document for `{url}` ingestion. The address check runs inside the socket's DNS lookup,
 * so the address connected to is the address checked (no rebinding between check and connect), and
 * again on every redirect. The body is read up to `maxBytes` and the whole fetch has one deadline.
 *
 * A redirect from https to http is refused, unlike in browsers: following it would send the path and
 * query (often tokens or signed parameters) in clear text, and store as knowledge whatever a network
 * attacker puts in the answer, under an `https` URL the caller trusted. A caller who accepts plain
 * http can send the http URL itself; the refusal names it.
 */
export async function fetchUrl(raw: string, options: FetchUrlOptions): Promise<FetchedUrl> {
  const deadline = Date.now() + options.timeoutMs;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('invalid_request', 'url is not a valid URL.', { param: 'url' });
  }
  const maxRedirects = options.maxRedirects ?? DEFAULT_LIMITS.urlMaxRedirects;
  for (let hop = 0; hop <= maxRedirects; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AppError('invalid_request', 'Only http and https URLs can be ingested.', { param: 'url' });
    if (url.username || url.password) throw new AppError('invalid_request', 'URLs with credentials are not accepted.', { param: 'url' });
    const res = await request(url, options, deadline);
    if (res.redirect) {
      url = redirectTarget(url, res.redirect);
      continue;
    }
    return { ...res.body!, finalUrl: url.toString(), filename: filenameOf(url) };
  }
  throw new AppError('invalid_request', `The URL redirected more than ${maxRedirects} times (the limit, ${LIMIT_SETTING.urlMaxRedirects}).`, { param: 'url' });
}

/**
 * Where a redirect from `from` to `location` (its Location header) leads: resolved against `from`;
 * an invalid location, or one that goes from https to plain http, is the caller's 400 (see fetchUrl
 * for why a downgrade is refused). The target's own checks (scheme, credentials, address) run when
 * it is fetched, as for the first URL.
 */
export function redirectTarget(from: URL, location: string): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new AppError('invalid_request', `The URL redirected to an invalid location (${JSON.stringify(location.slice(0, 200))}).`, { param: 'url' });
  }
  if (from.protocol === 'https:' && next.protocol === 'http:') {
    throw new AppError(
      'invalid_request',
      `The URL redirected from https to plain http (${JSON.stringify(next.toString().slice(0, 200))}), which is not followed: the request and the document would travel unencrypted. Send that http URL itself to ingest it anyway.`,
      { param: 'url' },
    );
  }
  return next;
}

/** The last path segment, percent-decoded; a malformed escape (`%zz`, `%E0%A4`) is a 400. */
function filenameOf(url: URL): string | null {
  const segment = url.pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(segment) || null;
  } catch {
    throw new AppError('invalid_request', `The URL's path has invalid percent-encoding (${JSON.stringify(segment.slice(0, 200))}).`, { param: 'url' });
  }
}

/** The fetched body counts against the upload size limit, as the same file uploaded would. */
function tooLarge(maxBytes: number): AppError {
  return new AppError('payload_too_large', `The URL's document is larger than the ${mebibytes(maxBytes)} limit (${LIMIT_SETTING.maxUploadBytes}).`, { param: 'url' });
}

function request(url: URL, options: FetchUrlOptions, deadline: number): Promise<{ redirect?: string; body?: { bytes: Uint8Array; contentType: string | null } }> {
  const lookup = guardedLookup((address) => forbiddenAddressReason(address, options.allowLoopback));
  // Literal IPs skip the socket's lookup, and well-known names (localhost, metadata) need no DNS.
  const host = hostOf(url);
  const hostClass = classifyHostSync(host);
  if (hostClass !== undefined && !admits(hostClass, options.allowLoopback)) {
    return Promise.reject(new AppError('invalid_request', `The URL points to a forbidden address (${host}: ${hostClass}).`, { param: 'url' }));
  }
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const remaining = Math.max(1, deadline - Date.now());
    const req = mod.get(url, { lookup, headers: { 'user-agent': 'Quire-Ingestion/1', accept: '*/*' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        resolve({ redirect: res.headers.location });
        return;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        reject(new AppError('invalid_request', `Fetching the URL answered HTTP ${status}.`, { param: 'url' }));
        return;
      }
      const stop = (error: unknown) => {
        req.destroy();
        reject(error);
      };
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (declared > options.maxBytes) return stop(tooLarge(options.maxBytes));
      try {
        if (Number.isSafeInteger(declared)) options.onBytes?.(declared);
      } catch (error) {
        return stop(error);
      }
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) return stop(tooLarge(options.maxBytes));
        try {
          options.onBytes?.(size);
        } catch (error) {
          return stop(error);
        }
        parts.push(chunk);
      });
      // Buffer.concat's result is a Uint8Array already; wrapping it would copy the document again.
      res.on('end', () => resolve({ body: { bytes: Buffer.concat(parts), contentType: res.headers['content-type'] ?? null } }));
      res.on('error', reject);
    });
    req.setTimeout(remaining, () => req.destroy(Object.assign(new Error('timeout'), { code: 'QUIRE_TIMEOUT' })));
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'QUIRE_TIMEOUT' })), remaining);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (error: Error & { code?: string }) => {
      if (error.code === EGRESS_REFUSED) reject(new AppError('invalid_request', error.message, { param: 'url' }));
      else if (error.code === 'QUIRE_TIMEOUT') reject(new AppError('invalid_request', `Fetching the URL took longer than ${options.timeoutMs} ms (the limit, ${LIMIT_SETTING.urlFetchTimeoutMs}).`, { param: 'url' }));
      else reject(new AppError('invalid_request', `The URL could not be fetched: ${error.message}`, { param: 'url' }));
    });
  });
}
