import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '@quire/server-kit';
import { fetchUrl, forbiddenAddressReason, redirectTarget } from './fetch-url.js';

const strict = { maxBytes: 1e6, timeoutMs: 2000, allowLoopback: false };

describe('forbiddenAddressReason (the shared classifier, URL-ingestion policy)', () => {
  it.each([
    '127.0.0.1', '::1', '0.0.0.0', '::', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', 'fd00::1',
    '169.254.1.1', 'fe80::1', '169.254.169.254', 'fd00:ec2::254', '224.0.0.1', '240.0.0.1', '198.18.0.1', 'ff02::1',
    // The same hosts in IPv6 clothing: IPv4-mapped (dotted and hex), NAT64, 6to4.
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a00:5', '64:ff9b::a9fe:a9fe', '2002:a00:5::1', '2002:a9fe:a9fe::',
  ])('refuses %s', (address) => {
    expect(forbiddenAddressReason(address, false)).toContain('is a forbidden address');
  });

  it('admits public addresses, and loopback only with allowLoopback', () => {
    for (const address of ['8.8.8.8', '2606:4700::1111', '64:ff9b::808:808', '2002:808:808::1']) expect(forbiddenAddressReason(address, false)).toBeUndefined();
    expect(forbiddenAddressReason('127.0.0.1', true)).toBeUndefined();
    expect(forbiddenAddressReason('::ffff:127.0.0.1', true)).toBeUndefined();
    expect(forbiddenAddressReason('10.0.0.1', true)).toContain('(private)');
    expect(forbiddenAddressReason('169.254.169.254', true)).toContain('(metadata)');
  });
});

describe('fetchUrl', () => {
  let site: http.Server;
  let base: string;
  beforeAll(async () => {
    site = http.createServer((req, res) => {
      if (req.url === '/slow') {
        const late = setTimeout(() => res.end('late'), 1_000);
        return void res.on('close', () => clearTimeout(late));
      }
      if (req.url === '/sized.txt') return void res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }).end('hello');
      if (req.url?.startsWith('/redirect-to/')) return void res.writeHead(302, { location: decodeURIComponent(req.url.slice('/redirect-to/'.length)) }).end();
      const hop = /^\/hop\/(\d+)$/.exec(req.url ?? '');
      if (hop && Number(hop[1]) > 0) return void res.writeHead(301, { location: `/hop/${Number(hop[1]) - 1}` }).end();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => site.close(() => resolve())));

  it.each([
    'http://[::ffff:127.0.0.1]:1/x',
    'http://[::ffff:a9fe:a9fe]/latest',
    'http://[64:ff9b::a00:5]/x',
    'http://[2002:a9fe:a9fe::]/x',
    'http://[fe80::1]/x',
    'http://224.0.0.1/x',
    'http://2130706433/x', // 127.0.0.1 as one number
    'http://metadata.google.internal/computeMetadata/v1',
    'http://LOCALHOST.:1/x',
  ])('refuses %s before connecting', async (url) => {
    await expect(fetchUrl(url, strict)).rejects.toThrow(/forbidden address/);
  });

  it('fetches from loopback only with allowLoopback, and checks every redirect hop', async () => {
    await expect(fetchUrl(`${base}/doc.txt`, strict)).rejects.toThrow(/forbidden address/);
    const fetched = await fetchUrl(`${base}/doc.txt`, { ...strict, allowLoopback: true });
    expect(Buffer.from(fetched.bytes).toString()).toBe('hello');
    expect(fetched.filename).toBe('doc.txt');
    for (const target of ['http://[::ffff:169.254.169.254]/latest', 'http://10.0.0.1/x']) {
      await expect(fetchUrl(`${base}/redirect-to/${encodeURIComponent(target)}`, { ...strict, allowLoopback: true })).rejects.toThrow(/forbidden address/);
    }
  });

  it('a path with malformed percent-encoding or a redirect to an invalid location is a 400 on url, not a 500', async () => {
    const loopback = { ...strict, allowLoopback: true };
    for (const url of [`${base}/bad%zz.txt`, `${base}/bad%E0%A4.txt`, `${base}/redirect-to/${encodeURIComponent('http://[not-a-host/x')}`]) {
      const error = await fetchUrl(url, loopback).catch((e: unknown) => e);
      expect([url, AppError.is(error) && error.code, AppError.is(error) && error.param]).toEqual([url, 'invalid_request', 'url']);
    }
    await expect(fetchUrl(`${base}/bad%zz.txt`, loopback)).rejects.toThrow(/invalid percent-encoding/);
    await expect(fetchUrl(`${base}/redirect-to/${encodeURIComponent('http://[not-a-host/x')}`, loopback)).rejects.toThrow(/redirected to an invalid location/);
    await expect(fetchUrl(`${base}/caf%C3%A9.txt`, loopback)).resolves.toMatchObject({ filename: 'café.txt' });
  });

  it('a document over the size limit, or a fetch over the deadline, is refused naming the setting to raise', async () => {
    const loopback = { ...strict, allowLoopback: true };
    const big = await fetchUrl(`${base}/doc.txt`, { ...loopback, maxBytes: 3 }).catch((e: unknown) => e);
    expect(big).toMatchObject({ code: 'payload_too_large', param: 'url', message: "The URL's document is larger than the 3 bytes limit (QUIRE_INGEST_MAX_UPLOAD_MB)." });
    const slow = await fetchUrl(`${base}/slow`, { ...loopback, timeoutMs: 100 }).catch((e: unknown) => e);
    expect(slow).toMatchObject({ code: 'invalid_request', param: 'url', message: 'Fetching the URL took longer than 100 ms (the limit, QUIRE_INGEST_URL_FETCH_TIMEOUT_MS).' });
  });

  it('tells onBytes the declared size before reading the body, then the bytes so far; what it throws stops the fetch', async () => {
    const loopback = { ...strict, allowLoopback: true };
    const seen: number[] = [];
    const fetched = await fetchUrl(`${base}/sized.txt`, { ...loopback, onBytes: (bytes) => seen.push(bytes) });
    expect(seen).toEqual([5, 5]);
    // Without a declared size, only as the bytes come.
    const chunked: number[] = [];
    await fetchUrl(`${base}/doc.txt`, { ...loopback, onBytes: (bytes) => chunked.push(bytes) });
    expect(chunked).toEqual([5]);
    // Held as received: no second copy of the document.
    expect(Buffer.isBuffer(fetched.bytes)).toBe(true);
    const full = new AppError('uploads_busy', 'No room.');
    const told: number[] = [];
    const refused = await fetchUrl(`${base}/sized.txt`, {
      ...loopback,
      onBytes: (bytes) => {
        told.push(bytes);
        throw full;
      },
    }).catch((e: unknown) => e);
    expect([refused, told]).toEqual([full, [5]]);
  });

  it('follows up to maxRedirects redirects (default 10, QUIRE_INGEST_URL_MAX_REDIRECTS), then refuses naming the setting', async () => {
    const loopback = { ...strict, allowLoopback: true };
    // A newsletter link: tracker, http -> https, www, canonical path, page.
    await expect(fetchUrl(`${base}/hop/4`, loopback)).resolves.toMatchObject({ finalUrl: `${base}/hop/0` });
    await expect(fetchUrl(`${base}/hop/10`, loopback)).resolves.toMatchObject({ finalUrl: `${base}/hop/0` });
    await expect(fetchUrl(`${base}/hop/11`, loopback)).rejects.toMatchObject({
      code: 'invalid_request',
      param: 'url',
      message: 'The URL redirected more than 10 times (the limit, QUIRE_INGEST_URL_MAX_REDIRECTS).',
    });
    await expect(fetchUrl(`${base}/hop/2`, { ...loopback, maxRedirects: 2 })).resolves.toMatchObject({ finalUrl: `${base}/hop/0` });
    await expect(fetchUrl(`${base}/hop/3`, { ...loopback, maxRedirects: 2 })).rejects.toThrow(/more than 2 times/);
    await expect(fetchUrl(`${base}/hop/1`, { ...loopback, maxRedirects: 0 })).rejects.toThrow(/more than 0 times/);
  });

  it('refuses a redirect from https to plain http, follows the others (the address check runs again on each hop)', () => {
    const from = new URL('https://intranet.example.com/blog/post?id=7');
    const downgrade = (() => {
      try {
        return redirectTarget(from, 'http://intranet.example.com/blog/post?id=7');
      } catch (error) {
        return error;
      }
    })();
    expect(downgrade).toMatchObject({ code: 'invalid_request', param: 'url' });
    expect((downgrade as Error).message).toMatch(/redirected from https to plain http \("http:\/\/intranet\.example\.com\/blog\/post\?id=7"\).*Send that http URL itself/);
    expect(redirectTarget(from, '/canonical/post').toString()).toBe('https://intranet.example.com/canonical/post');
    expect(redirectTarget(from, 'https://www.example.com/x').toString()).toBe('https://www.example.com/x');
    expect(redirectTarget(new URL('http://example.com/a'), 'https://example.com/a').toString()).toBe('https://example.com/a');
    expect(redirectTarget(new URL('http://example.com/a'), 'http://other.example.com/b').toString()).toBe('http://other.example.com/b');
  });

  it('admits localhost only with allowLoopback', async () => {
    const port = new URL(base).port;
    await expect(fetchUrl(`http://localhost:${port}/doc.txt`, strict)).rejects.toThrow(/forbidden address/);
    await expect(fetchUrl(`http://localhost:${port}/doc.txt`, { ...strict, allowLoopback: true })).resolves.toMatchObject({ contentType: 'text/plain' });
  });
});
