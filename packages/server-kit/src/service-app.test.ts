import http from 'node:http';
import { z } from 'zod';
import { listen, type RunningServer } from './listen.js';
import { createLogger } from './logger.js';
import { createServiceApp, finishServiceApp, handle } from './service-app.js';
import { parseWith } from './validate.js';

const logger = createLogger({ test: 'service-app' }, 'error');

let server: RunningServer;
let port: number;

beforeAll(async () => {
  const app = createServiceApp({ name: 'body-test', logger, ready: async () => undefined });
  app.post('/things', handle((req, res) => void res.status(201).json(parseWith(z.object({ name: z.string() }), req.body))));
  // A route that takes no body (as POST /v1/documents/:id/retry).
  app.post('/ping', (_req, res) => void res.status(204).end());
  // A route that reads its own body (as ingestion's multipart uploads).
  app.post('/raw', (req, res) => {
    let size = 0;
    req.on('data', (chunk: Buffer) => (size += chunk.length));
    req.on('end', () => res.json({ size }));
  });
  finishServiceApp(app, logger);
  server = await listen(app, 0);
  port = Number(new URL(server.url).port);
});

afterAll(() => server?.close());

/** A raw request, so headers are exactly as given; `chunks` are written one by one (chunked when no content-length is set). */
function send(path: string, headers: Record<string, string>, chunks: string[] = []): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, path, method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    // Headers first, so an empty body goes out chunked as a proxy forwards one.
    req.flushHeaders();
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const json = JSON.stringify({ name: 'Handbook' });

describe('a JSON body sent without content-type: application/json', () => {
  test.each([
    ['text/plain;charset=UTF-8 (fetch with a string body)', { 'content-type': 'text/plain;charset=UTF-8', 'content-length': String(json.length) }, "this request's content-type is 'text/plain;charset=UTF-8'"],
    ['application/x-www-form-urlencoded (curl -d)', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(json.length) }, "this request's content-type is 'application/x-www-form-urlencoded'"],
    ['no content-type, with a length', { 'content-length': String(json.length) }, 'this request has no content-type'],
    ['no content-type, chunked', {}, 'this request has no content-type'],
  ])('is refused with 415 saying what to send: %s', async (_name, headers, detail) => {
    const res = await send('/things', headers, [json]);
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_media_type');
    expect(res.body.error.message).toBe(`The request body was not read: send it as JSON with the header 'content-type: application/json' (${detail}).`);
  });

  test('JSON, empty bodies (with a zero length or chunked) and bodies a route reads itself are not refused', async () => {
    expect(await send('/things', { 'content-type': 'application/json', 'content-length': String(json.length) }, [json])).toEqual({ status: 201, body: { name: 'Handbook' } });
    expect((await send('/things', { 'content-type': 'application/json; charset=utf-8' }, [json])).status).toBe(201);
    expect((await send('/ping', { 'content-length': '0' })).status).toBe(204);
    expect((await send('/ping', {})).status).toBe(204);
    expect(await send('/raw', { 'content-type': 'multipart/form-data; boundary=x' }, ['--x--\r\n'])).toEqual({ status: 200, body: { size: 7 } });
    // A JSON route sent nothing still names the missing field, and bad JSON is still invalid_json.
    const empty = await send('/things', { 'content-length': '0' });
    expect([empty.status, empty.body.error.code]).toEqual([400, 'invalid_request']);
    expect((await send('/things', { 'content-type': 'application/json' }, ['{"name":'])).body.error.code).toBe('invalid_json');
  });
});

describe('the JSON body limit', () => {
  const KIB = 1024;
  let limited: RunningServer;

  beforeAll(async () => {
    // Uploads take up to 64 KiB, everything else 1 KiB: chosen per request, before the body is read.
    const app = createServiceApp({ name: 'limit-test', logger, ready: async () => undefined, jsonLimit: (req) => (req.path === '/upload' ? 64 * KIB : KIB) });
    app.post('/upload', (req, res) => void res.json({ size: String(req.body.text).length }));
    app.patch('/settings', (req, res) => void res.json({ size: String(req.body.text).length }));
    finishServiceApp(app, logger);
    limited = await listen(app, 0);
  });
  afterAll(() => limited?.close());

  /** Sends the head and `body` only once a 100 arrives, as curl does; resolves with the statuses seen (100 included) and the answer's JSON. */
  function send100(path: string, method: string, body: string): Promise<{ lines: number[]; body: any }> {
    return new Promise((resolve, reject) => {
      const lines: number[] = [];
      const req = http.request(`${limited.url}${path}`, { method, headers: { 'content-type': 'application/json', 'content-length': String(body.length), expect: '100-continue' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ lines: [...lines, res.statusCode ?? 0], body: JSON.parse(text) }));
      });
      req.on('continue', () => {
        lines.push(100);
        req.end(body);
      });
      req.on('error', reject);
      req.flushHeaders();
    });
  }

  test('a body declared larger than its route takes is refused with 413 naming the limit, before a byte of it is asked for', async () => {
    const res = await send100('/settings', 'PATCH', JSON.stringify({ text: 'x'.repeat(2 * KIB) }));
    expect(res.lines).toEqual([413]);
    expect(res.body.error).toMatchObject({ code: 'payload_too_large', message: 'This JSON body (2 KiB) is larger than the 1 KiB that PATCH /settings accepts.' });
  });

  test('a chunked body is refused with 413 naming the limit once it passes it', async () => {
    const res = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request(`${limited.url}/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' } }, (r) => {
        let text = '';
        r.on('data', (d: Buffer) => (text += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      // No length: the body goes out chunked, and is judged as it arrives.
      req.write(JSON.stringify({ text: 'x'.repeat(2 * KIB) }));
      req.end();
    });
    expect([res.status, res.body.error.code, res.body.error.message]).toEqual([413, 'payload_too_large', 'This JSON body is larger than the 1 KiB that PATCH /settings accepts.']);
  });

  test('the route given the large limit reads a body the others refuse', async () => {
    const res = await send100('/upload', 'POST', JSON.stringify({ text: 'x'.repeat(48 * KIB) }));
    expect(res).toEqual({ lines: [100, 200], body: { size: 48 * KIB } });
    expect((await send100('/settings', 'PATCH', JSON.stringify({ text: 'small' }))).body).toEqual({ size: 5 });
  });
});
