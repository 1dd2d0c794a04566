/**
 * `{url}` ingestion of intranet and blog pages as they are linked from newsletters: tracking
 * parameters, trailing slashes, legacy charsets, a few redirects.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';

let t: TestIngestion;
let site: http.Server;
let base: string;
let coll: { id: string };

const PAGE = '<!doctype html><html><head><title>New parental leave policy</title></head><body><main><h1>New parental leave policy</h1><p>From May, parents get 20 weeks.</p></main></body></html>';
const KANTINE = '<!doctype html><html><head><meta charset="iso-8859-1"><title>Kantine</title></head><body><h1>Speiseplan</h1><p>Montag: Käsespätzle, Dienstag: Grüne Soße.</p></body></html>';

beforeAll(async () => {
  t = await startTestIngestion('url-ingest', { allowLoopbackUrls: true });
  site = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/blog/2024/parental-leave/')) return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    if (url.startsWith('/blog/2024/named-by-caller/')) return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE.replace('20 weeks', '24 weeks'));
    if (url.startsWith('/blog/2024/untitled-post/')) return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><p>No title, no heading.</p></body></html>');
    if (url === '/legacy/kantine.html') return void res.writeHead(200, { 'content-type': 'text/html; charset=ISO-8859-1' }).end(Buffer.from(KANTINE, 'latin1'));
    // The same page with the charset only in its <meta>, and a plain-text notice in windows-1252.
    if (url === '/legacy/kantine-meta.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end(Buffer.from(KANTINE.replace('Speiseplan', 'Wochenplan'), 'latin1'));
    if (url === '/legacy/notice.txt') return void res.writeHead(200, { 'content-type': 'text/plain; charset=windows-1252' }).end(Buffer.from([...Buffer.from('Price: '), 0x80, ...Buffer.from(' 5, '), 0x93, ...Buffer.from('fair'), 0x94]));
    const hop = /^\/hop\/(\d+)$/.exec(url);
    if (hop) {
      const n = Number(hop[1]);
      return void res.writeHead(n > 0 ? 301 : 200, n > 0 ? { location: `/hop/${n - 1}` } : { 'content-type': 'text/plain' }).end(n > 0 ? '' : 'Arrived after redirects.');
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  coll = await t.api.createCollection({ name: 'Intranet' });
});
afterAll(async () => {
  await new Promise<void>((resolve) => site.close(() => resolve()));
  await t?.stop();
});

const ingest = (json: Record<string, unknown>) => t.api.call(`/v1/collections/${coll.id}/documents`, { json });
const chunkText = async (documentId: string) =>
  (await t.db.query<{ text: string }>(`SELECT text FROM chunks WHERE document_id = $1 ORDER BY ordinal`, [documentId])).rows.map((r) => r.text).join('\n');

test("a page's title is its <title>, and source_url loses the newsletter's tracking parameters", async () => {
  const r = await ingest({ url: `${base}/blog/2024/parental-leave/?utm_source=newsletter&utm_medium=email&utm_campaign=may&fbclid=IwAR0xyz&lang=en`, metadata: { team: 'people' } });
  expect(r.status).toBe(202);
  const doc = r.body.documents[0];
  expect(doc.title).toBe('New parental leave policy');
  expect(doc.metadata).toEqual({ team: 'people', source_url: `${base}/blog/2024/parental-leave/?lang=en` });
  expect((await t.api.waitForDocument(doc.id)).status).toBe('ready');
});

test("the caller's title wins; a page without <title> or <h1> is named from its URL's path", async () => {
  const given = await ingest({ url: `${base}/blog/2024/named-by-caller/?utm_source=x`, title: 'Leave (2024)' });
  expect(given.body.documents[0].title).toBe('Leave (2024)');
  const untitled = await ingest({ url: `${base}/blog/2024/untitled-post/?gclid=abc` });
  expect(untitled.status).toBe(202);
  expect(untitled.body.documents[0]).toMatchObject({ title: 'untitled post', metadata: { source_url: `${base}/blog/2024/untitled-post/` } });
});

test('a legacy page served as ISO-8859-1 (or naming it in <meta charset>) is read in its charset', async () => {
  for (const path of ['/legacy/kantine.html', '/legacy/kantine-meta.html']) {
    const r = await ingest({ url: `${base}${path}` });
    expect([path, r.status]).toEqual([path, 202]);
    expect(r.body.documents[0].title).toBe('Kantine');
    const doc = await t.api.waitForDocument(r.body.documents[0].id);
    expect(doc).toMatchObject({ status: 'ready', mime_type: 'text/html' });
    expect(await chunkText(doc.id)).toContain('Montag: Käsespätzle, Dienstag: Grüne Soße.');
  }
  const notice = await ingest({ url: `${base}/legacy/notice.txt` });
  expect(notice.status).toBe(202);
  const doc = await t.api.waitForDocument(notice.body.documents[0].id);
  expect(doc).toMatchObject({ status: 'ready', title: 'notice' });
  expect(await chunkText(doc.id)).toContain('Price: € 5, “fair”');
});

test('a link behind four redirects (http -> https -> www -> canonical -> page) is followed; past the limit it is refused naming the setting', async () => {
  const r = await ingest({ url: `${base}/hop/4` });
  expect(r.status).toBe(202);
  expect(r.body.documents[0].metadata.source_url).toBe(`${base}/hop/0`);
  const far = await ingest({ url: `${base}/hop/11` });
  expect([far.status, far.body.error.message]).toEqual([400, 'The URL redirected more than 10 times (the limit, QUIRE_INGEST_URL_MAX_REDIRECTS).']);
});
