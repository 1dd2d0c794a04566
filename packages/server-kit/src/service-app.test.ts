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
