import http from 'node:http';
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Request, Response } from 'express';
import { AppError, createLogger, createServiceApp, finishServiceApp, listen, type RunningServer } from '@quire/server-kit';
import { JSON_BODY_MAX_BYTES, resolveLimits } from '../limits.js';
import { readUpload } from './read-upload.js';
import { createUploadMemory, uploadHandler, uploadLease, type UploadMemory } from './upload-memory.js';

const logger = createLogger({ test: 'upload-memory' }, 'error');
const KIB = 1024;
const MIB = 1024 * KIB;
// Room for one upload at the limit and a half: a second large one waits, a small one still fits.
const limits = resolveLimits({ maxUploadBytes: MIB, maxUploadTotalBytes: MIB, uploadMemoryBytes: 1.5 * MIB, allowLoopbackUrls: true });

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('an upload lease', () => {
  // The lease needs only the response's `close` and `locals`, and the request's type and length.
  const fakeRequest = (type: string, length?: number) =>
    ({ headers: { 'content-type': type, ...(length !== undefined ? { 'content-length': String(length) } : {}) }, is: (t: string) => (type === t ? t : false) }) as unknown as Request;
  const fakeResponse = () => Object.assign(new EventEmitter(), { locals: {} }) as unknown as Response;
  const admit = (memory: UploadMemory, req: Request) => {
    const res = fakeResponse();
    let admitted = false;
    memory.reserve(req, res, () => (admitted = true));
    return { res, admitted };
  };
  const codeOf = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      return AppError.is(error) ? [error.status, error.code, error.message, error.headers] : error;
    }
    return 'fits';
  };

  test('takes a declared length at once, counts undeclared bytes as they come, and gives all back when the response closes', () => {
    const memory = createUploadMemory({ uploadMemoryBytes: 1200, maxUploadTotalBytes: 800 }, logger);
    const json = admit(memory, fakeRequest('application/json', 300));
    expect([json.admitted, memory.inFlight()]).toEqual([true, 300]);
    // A multipart length is taken only up to what its files may hold.
    const big = admit(memory, fakeRequest('multipart/form-data', 5000));
    expect([big.admitted, memory.inFlight()]).toEqual([true, 1100]);
    big.res.emit('close');
    const chunked = admit(memory, fakeRequest('multipart/form-data'));
    expect(memory.inFlight()).toBe(300);
    uploadLease(chunked.res).need(400);
    uploadLease(chunked.res).need(350); // never less than before
    expect(memory.inFlight()).toBe(700);
    expect(codeOf(() => uploadLease(chunked.res).need(1000))).toEqual([
      503,
      'uploads_busy',
      'Other uploads fill the 1200 bytes this service holds in memory for uploads at once (QUIRE_INGEST_UPLOAD_MEMORY_MB); this one (1000 bytes) was not read. Retry in a few seconds.',
      { 'retry-after': '5' },
    ]);
    expect(codeOf(() => uploadLease(chunked.res).need(1201))).toEqual([
      413,
      'payload_too_large',
      'This upload (1201 bytes) is larger than the 1200 bytes this service holds in memory for all uploads at once (QUIRE_INGEST_UPLOAD_MEMORY_MB).',
      undefined,
    ]);
    expect(memory.inFlight()).toBe(700);
    json.res.emit('close');
    chunked.res.emit('close');
    chunked.res.emit('close');
    expect(memory.inFlight()).toBe(0);
  });

  test('a hold keeps the bytes counted past the response, until the handler lets go', () => {
    const memory = createUploadMemory({ uploadMemoryBytes: 1000, maxUploadTotalBytes: 1000 }, logger);
    const { res } = admit(memory, fakeRequest('application/json', 600));
    const done = uploadLease(res).hold();
    res.emit('close');
    expect(memory.inFlight()).toBe(600);
    done();
    done();
    expect(memory.inFlight()).toBe(0);
    // Nobody is left to answer: nothing more is read for it.
    expect(() => uploadLease(res).need(700)).toThrow(expect.objectContaining({ name: 'AbortError' }));
    expect(memory.inFlight()).toBe(0);
  });

  test('a chunked JSON body is counted at the most the JSON parser reads', () => {
    const memory = createUploadMemory({ uploadMemoryBytes: 4 * JSON_BODY_MAX_BYTES, maxUploadTotalBytes: MIB }, logger);
    admit(memory, fakeRequest('application/json'));
    expect(memory.inFlight()).toBe(JSON_BODY_MAX_BYTES);
  });
});

describe('uploads over HTTP share the upload memory', () => {
  let memory: UploadMemory;
  let server: RunningServer;
  let site: http.Server;
  let siteUrl: string;
  let handlerRuns = 0;
  // Statuses of the answers sent, as they go out.
  const sent: number[] = [];
  // Handlers that read their upload and now wait, as the store of bytes in the database does.
  const parked: { release: () => void; closed: () => boolean }[] = [];

  beforeAll(async () => {
    memory = createUploadMemory(limits, logger);
    const app = createServiceApp({
      name: 'upload-memory-test',
      logger,
      ready: async () => undefined,
      beforeBody: (req, res, next) => {
        res.once('finish', () => sent.push(res.statusCode));
        memory.reserve(req, res, next);
      },
    });
    app.post(
      '/documents',
      uploadHandler(logger, async (req, res) => {
        handlerRuns++;
        const upload = await readUpload(req, res, limits);
        if (req.query.park !== undefined) {
          let closed = false;
          res.once('close', () => (closed = true));
          await new Promise<void>((release) => parked.push({ release, closed: () => closed }));
        }
        res.json({ bytes: upload.items.map((item) => item.bytes.length) });
      }),
    );
    finishServiceApp(app, logger);
    server = await listen(app, 0);
    // Serves `size` bytes of text, with or without a declared length.
    site = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const size = Number(url.searchParams.get('size'));
      res.writeHead(200, { 'content-type': 'text/plain', ...(url.searchParams.has('declared') ? { 'content-length': String(size) } : {}) });
      for (let sent = 0; sent < size; sent += 64 * KIB) res.write('a'.repeat(Math.min(64 * KIB, size - sent)));
      res.end();
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const p of parked) p.release();
    await server?.close();
    await new Promise<void>((resolve) => site.close(() => resolve()));
  });

  afterEach(async () => {
    for (const p of parked.splice(0)) p.release();
    // No test leaves room taken behind it.
    await until('the upload memory to empty', () => memory.inFlight() === 0);
  });

  const form = (size: number) => {
    const data = new FormData();
    data.append('file', new Blob(['a'.repeat(size)]), 'notes.txt');
    return data;
  };
  const post = async (body: FormData | string, query = '', type?: string) => {
    const res = await fetch(`${server.url}/documents${query}`, { method: 'POST', body, ...(type ? { headers: { 'content-type': type } } : {}) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as { bytes?: number[]; error?: { code: string; message: string } } };
  };
  /** Parks an upload of `size` bytes in its handler, holding its room; resolves once it is parked. */
  const park = async (body: FormData | string, type?: string) => {
    const before = parked.length;
    const answer = post(body, '?park', type);
    await until('the upload to be parked', () => parked.length > before);
    return { answer, ...parked[parked.length - 1]! };
  };

  const BOUNDARY = 'quire-upload-memory-test';
  const partHead = Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="file"; filename="notes.txt"\r\ncontent-type: text/plain\r\n\r\n`);
  const partTail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  /** A multipart upload whose body the test writes itself (so it can stop, or leave, half-way). */
  const rawUpload = (headers: Record<string, string> = {}, query = '') => {
    const req = http.request(`${server.url}/documents${query}`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...headers } });
    // The server closes a refused upload's connection while the body is still being written.
    req.on('error', () => undefined);
    const answer = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: { error: { code: string; message: string } } }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }));
        res.on('error', reject);
      });
    });
    return { req, answer };
  };

  test('an upload that does not fit is answered 503 uploads_busy unread, and fits once the other is done', async () => {
    const first = await park(form(900 * KIB));
    expect(memory.inFlight()).toBeGreaterThan(900 * KIB);
    const runs = handlerRuns;
    const busy = await post(form(700 * KIB));
    expect(busy.status).toBe(503);
    expect(busy.body.error).toEqual(expect.objectContaining({ code: 'uploads_busy', message: expect.stringContaining('(QUIRE_INGEST_UPLOAD_MEMORY_MB)') }));
    expect(busy.headers.get('retry-after')).toBe('5');
    // Refused before the route ran: its body was never read.
    expect(handlerRuns).toBe(runs);
    // A small one still fits beside the first.
    expect(await post(form(100 * KIB))).toMatchObject({ status: 200, body: { bytes: [100 * KIB] } });
    first.release();
    expect(await first.answer).toMatchObject({ status: 200, body: { bytes: [900 * KIB] } });
    await until('the first upload\'s room to come back', () => memory.inFlight() === 0);
    expect(await post(form(700 * KIB))).toMatchObject({ status: 200, body: { bytes: [700 * KIB] } });
  });

  test('a body without a length is counted as it arrives and refused part-way once it does not fit', async () => {
    const first = await park(form(900 * KIB));
    const held = memory.inFlight();
    const { req, answer } = rawUpload({ 'transfer-encoding': 'chunked' });
    req.write(partHead);
    // Written 64 KiB at a time, never ended: only a refusal part-way answers it.
    let answered = false;
    void answer.then(() => (answered = true));
    for (let sent = 0; !answered && sent < 2 * MIB; sent += 64 * KIB) {
      await new Promise<void>((resolve) => req.write(Buffer.alloc(64 * KIB, 'b'), () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const refused = await answer;
    expect([refused.status, refused.body.error.code]).toEqual([503, 'uploads_busy']);
    req.destroy();
    // Its room went back with its response; the parked upload's is still held.
    await until('the refused upload\'s room to come back', () => memory.inFlight() === held);
    first.release();
    await first.answer;
  });

  test('a client still sending its body when refused reads the refusal, not a reset', async () => {
    const first = await park(form(900 * KIB));
    const answers = sent.length;
    const { req, answer } = rawUpload({ 'content-length': String(partHead.length + 900 * KIB + partTail.length) });
    let failed: Error | undefined;
    req.on('error', (error) => (failed = error));
    const closed = once(req, 'close').then(() => ({ status: 0, body: { error: { code: `closed without an answer: ${String(failed)}` } } }));
    // The answer is left unread while more of the body goes out, as a client busy writing does
    // (node's own client among them: a failed write while it writes the body loses the answer).
    req.on('socket', (socket) => socket.pause());
    req.write(partHead);
    await until('the refusal to be sent', () => sent.length > answers);
    expect(sent[answers]).toBe(503);
    for (let i = 0; i < 10 && !failed; i++) {
      req.write(Buffer.alloc(64 * KIB, 'e'));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    req.socket?.resume();
    const refused = await Promise.race([answer, closed]);
    expect([refused.status, refused.body.error.code]).toEqual([503, 'uploads_busy']);
    req.destroy();
    first.release();
    await first.answer;
  });

  test('an upload larger than the whole upload memory is refused as too large, naming the setting', async () => {
    // A JSON body: the multipart files of one upload are capped below the memory already.
    const text = JSON.stringify({ text: 'a'.repeat(1.6 * MIB) });
    const res = await post(text, '', 'application/json');
    expect([res.status, res.body.error?.code]).toEqual([413, 'payload_too_large']);
    expect(res.body.error?.message).toMatch(/^This upload \(1\.6 MiB\) is larger than the 1\.5 MiB this service holds in memory for all uploads at once \(QUIRE_INGEST_UPLOAD_MEMORY_MB\)\.$/);
    // A JSON body sent without a length is counted at the JSON limit (25 MiB), more than this memory.
    const { req, answer } = rawUpload({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    req.write('{"text": "a');
    expect((await answer).status).toBe(413);
    req.destroy();
  });

  test('a client that leaves mid-body takes no room with it', async () => {
    const { req } = rawUpload({ 'content-length': String(partHead.length + 900 * KIB + partTail.length) });
    req.write(partHead);
    req.write(Buffer.alloc(300 * KIB, 'c'));
    await until('the upload to take its room', () => memory.inFlight() > 900 * KIB);
    req.destroy();
    await until('its room to come back', () => memory.inFlight() === 0);
  });

  test('a client that leaves while its upload is being stored keeps the room taken until the handler is done', async () => {
    const { req } = rawUpload({ 'content-length': String(partHead.length + 900 * KIB + partTail.length) }, '?park');
    req.end(Buffer.concat([partHead, Buffer.alloc(900 * KIB, 'd'), partTail]));
    await until('the upload to be parked', () => parked.length === 1);
    const held = memory.inFlight();
    req.destroy();
    await until('the server to see the client leave', () => parked[0]!.closed());
    expect(memory.inFlight()).toBe(held);
    parked.splice(0)[0]!.release();
    await until('the room to come back', () => memory.inFlight() === 0);
  });

  test('a fetched URL is held in the same memory, with or without a declared length', async () => {
    const url = (size: number, declared: boolean) => JSON.stringify({ url: `${siteUrl}/doc.txt?size=${size}${declared ? '&declared' : ''}` });
    const first = await park(url(900 * KIB, false), 'application/json');
    expect(memory.inFlight()).toBe(900 * KIB);
    for (const declared of [true, false]) {
      const busy = await post(url(700 * KIB, declared), '', 'application/json');
      expect([busy.status, busy.body.error?.code, busy.headers.get('retry-after')]).toEqual([503, 'uploads_busy', '5']);
    }
    expect(memory.inFlight()).toBe(900 * KIB);
    first.release();
    expect(await first.answer).toMatchObject({ status: 200, body: { bytes: [900 * KIB] } });
  });
});
