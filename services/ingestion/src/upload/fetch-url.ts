import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { EGRESS_REFUSED, guardedLookup } from '@quire/models';
import { AppError } from '@quire/server-kit';

/** Addresses a server-side fetch must never reach (SSRF): private, loopback, link-local, metadata. */
const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) BLOCKED.addSubnet(net, bits, 'ipv6');
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

export function isForbiddenAddress(address: string, allowLoopback: boolean): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (LOOPBACK.check(ip, family)) return !allowLoopback;
  return BLOCKED.check(ip, family);
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
  maxRedirects?: number;
}

/**
 * Fetches a document for `{url}` ingestion. The address check runs inside the socket's DNS lookup,
 * so the address connected to is the address checked (no rebinding between check and connect), and
 * again on every redirect. The body is read up to `maxBytes` and the whole fetch has one deadline.
 */
export async function fetchUrl(raw: string, options: FetchUrlOptions): Promise<FetchedUrl> {
  const deadline = Date.now() + options.timeoutMs;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('invalid_request', 'url is not a valid URL.', { param: 'url' });
  }
  for (let hop = 0; hop <= (options.maxRedirects ?? 3); hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AppError('invalid_request', 'Only http and https URLs can be ingested.', { param: 'url' });
    if (url.username || url.password) throw new AppError('invalid_request', 'URLs with credentials are not accepted.', { param: 'url' });
    const res = await request(url, options, deadline);
    if (res.redirect) {
      url = new URL(res.redirect, url);
      continue;
    }
    return { ...res.body!, finalUrl: url.toString(), filename: decodeURIComponent(url.pathname.split('/').pop() ?? '') || null };
  }
  throw new AppError('invalid_request', 'The URL redirected too many times.', { param: 'url' });
}

function request(url: URL, options: FetchUrlOptions, deadline: number): Promise<{ redirect?: string; body?: { bytes: Uint8Array; contentType: string | null } }> {
  const lookup = guardedLookup((address) => (isForbiddenAddress(address, options.allowLoopback) ? `${address} is a forbidden address` : undefined));
  const hostIp = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(hostIp) && isForbiddenAddress(hostIp, options.allowLoopback)) {
    return Promise.reject(new AppError('invalid_request', `The URL points to a forbidden address (${hostIp}).`, { param: 'url' }));
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
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (declared > options.maxBytes) {
        req.destroy();
        reject(new AppError('payload_too_large', `The URL's document is larger than the ${options.maxBytes} byte limit.`, { param: 'url' }));
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          req.destroy();
          reject(new AppError('payload_too_large', `The URL's document is larger than the ${options.maxBytes} byte limit.`, { param: 'url' }));
          return;
        }
        parts.push(chunk);
      });
      res.on('end', () => resolve({ body: { bytes: new Uint8Array(Buffer.concat(parts)), contentType: res.headers['content-type'] ?? null } }));
      res.on('error', reject);
    });
    req.setTimeout(remaining, () => req.destroy(Object.assign(new Error('timeout'), { code: 'QUIRE_TIMEOUT' })));
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'QUIRE_TIMEOUT' })), remaining);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (error: Error & { code?: string }) => {
      if (error.code === EGRESS_REFUSED) reject(new AppError('invalid_request', error.message, { param: 'url' }));
      else if (error.code === 'QUIRE_TIMEOUT') reject(new AppError('invalid_request', `Fetching the URL took longer than ${options.timeoutMs} ms.`, { param: 'url' }));
      else reject(new AppError('invalid_request', `The URL could not be fetched: ${error.message}`, { param: 'url' }));
    });
  });
}
