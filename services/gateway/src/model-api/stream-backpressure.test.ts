import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openTestDatabase, type Db } from '@quire/db';
import { openPaused as openPausedClient } from '@quire/fakes';
import { createModelRegistry, createPriceBook } from '@quire/models';
import { listen, type RunningServer } from '@quire/server-kit';
import { createGatewayService, type GatewayService } from '../gateway-service.js';
import { createModelCatalog } from '../model-catalog.js';
import { scopedFetch } from '../routing/attempt-timer.js';
import { ADMIN_AUTH, ledgerFor, logger, SECRET, TEST_ADMIN_KEY } from '../testing/gateway-harness.js';

/**
 * A client that reads a stream slowly (here: not at all, until it resumes) must slow the provider
 * down instead of making the gateway buffer the answer: the stream loop stops pulling parts while
 * the client's socket is full, so the provider's connection is not read and TCP holds the provider.
 */

/**
 * 8,000 deltas of 4 KiB: 32 MiB, several times what the socket buffers between the gateway and a
 * client take in (a few MiB), so a stream that is not held back would run to its end.
 */
const FRAMES = 8000;
const PIECE = 'lorem ipsum '.repeat(341);
/**
 * What the gateway may hold for one stream: under the socket's 16 KiB mark before a write, a batch
 * held at that mark, and the event that crossed it; with margin. The whole answer is 256 times that.
 */
const BUFFER_BOUND = 128 * 1024;

/**
 * An OpenAI-compatible provider that streams FRAMES deltas as fast as its socket takes them, and no
 * faster: it waits for 'drain', as a real server does, so a gateway that stops reading holds it.
 */
interface FloodingProvider {
  url: string;
  /** Frames the current stream wrote. */
  written: number;
  /** Makes the current stream finish instead of writing its next frame. */
  finishNow: boolean;
  /** The current stream wrote its last frame. */
  done: boolean;
  /** Resolves when the current stream's connection closes. */
  closed: Promise<void>;
  close(): Promise<void>;
}

async function startFloodingProvider(): Promise<FloodingProvider> {
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-flood', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices, ...extra })}\n\n`;
  const frame = chunk([{ index: 0, delta: { content: PIECE }, finish_reason: null }]);
  const tail = (frames: number) =>
    chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]) +
    chunk([], { usage: { prompt_tokens: 10, completion_tokens: frames * 100, total_tokens: 10 + frames * 100 } }) +
    'data: [DONE]\n\n';
  const drained = (res: http.ServerResponse) =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      provider.written = 0;
      provider.finishNow = false;
      provider.done = false;
      provider.closed = new Promise((resolve) => res.on('close', resolve));
      // A connection per stream: a kept-alive one could be closed by its idle timeout as the next test reuses it.
      res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'close' });
      void (async () => {
        for (let i = 0; i < FRAMES && !provider.finishNow; i++) {
          if (res.destroyed) return;
          provider.written++;
          if (!res.write(frame)) await drained(res);
        }
        res.end(tail(provider.written));
        provider.done = true;
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const provider: FloodingProvider = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    written: 0,
    finishNow: false,
    done: false,
    closed: Promise.resolve(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return provider;
}

let db: Db;
let provider: FloodingProvider;
let service: GatewayService;
let gateway: RunningServer;
/** The same gateway behind a server whose streams give up on a client that reads nothing after STALL_MS. */
let stalling: RunningServer;
const STALL_MS = 400;
/** The gateway's response of the stream being tested, as its handler got it. */
let streamRes: http.ServerResponse | undefined;

beforeAll(async () => {
  [db, provider] = await Promise.all([openTestDatabase(), startFloodingProvider()]);
  const registry = createModelRegistry({ flood: { type: 'openai-compatible', baseURL: provider.url, apiKey: 'sk-test', allowLoopback: true } }, { fetch: scopedFetch });
  const prices = createPriceBook({ 'flood/gpt-4o-mini': { input: '1', output: '2', asOf: 'test', source: 'test' } });
  service = createGatewayService({
    db, catalog: createModelCatalog(registry, prices, logger), logger, internalSecret: SECRET,
    upstreams: { ingestionUrl: 'http://127.0.0.1:9', retrievalUrl: 'http://127.0.0.1:9' },
    retry: { maxAttempts: 1, baseDelayMs: 5, maxDelayMs: 20 },
    routesFile: null,
    governance: { adminKey: TEST_ADMIN_KEY },
  });
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url?.startsWith('/v1/')) streamRes = res;
    service.handler(req, res);
  };
  gateway = await listen(handler, 0);
  stalling = await listen(handler, 0, '127.0.0.1', { sseStallMs: STALL_MS });
});

afterAll(async () => {
  await stalling?.close();
  await gateway?.close();
  await service?.governance.close();
  await provider?.close();
  await db?.close();
});

/** A slow reader of the gateway's answer (see @quire/fakes openPaused). */
function openPaused(path: string, body: unknown, traceId: string, server: RunningServer = gateway) {
  return openPausedClient(`${server.url}${path}`, body, { 'x-request-id': traceId, ...ADMIN_AUTH });
}

/**
 * Resolves once the stream is held: the client's socket is full and the gateway wrote nothing more to
 * it for ten polls in a row; or once the stream was written to its end. Meanwhile the gateway's buffer
 * for it is sampled at each poll. Every part of the test shares this event loop, so a stream still
 * being written moves between two polls.
 */
async function heldOrEnded(res: http.ServerResponse): Promise<{ maxBuffered: number }> {
  let maxBuffered = 0;
  let last = -1;
  let still = 0;
  while (!res.writableEnded && still < 10) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    maxBuffered = Math.max(maxBuffered, res.writableLength);
    const written = res.socket?.bytesWritten ?? -1;
    still = res.writableNeedDrain && written === last ? still + 1 : 0;
    last = written;
  }
  return { maxBuffered };
}

const events = (text: string) => text.split('\n\n').filter(Boolean);

test.each([
  {
    name: 'chat completions',
    path: '/v1/chat/completions',
    body: { model: 'flood/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Go on.' }] },
    check: (text: string) => {
      const all = events(text);
      expect(all.at(-1)).toBe('data: [DONE]');
      const deltas = all.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length))).filter((c) => c.choices[0]?.delta?.content === PIECE);
      expect(deltas).toHaveLength(provider.written);
    },
  },
  {
    name: 'responses',
    path: '/v1/responses',
    body: { model: 'flood/gpt-4o-mini', stream: true, input: 'Go on.' },
    check: (text: string) => {
      const types = events(text).map((e) => /^event: (.*)$/m.exec(e)![1]);
      expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(provider.written);
      expect(types.at(-1)).toBe('response.completed');
    },
  },
])('$name: a client that reads nothing holds the provider back, the gateway buffers a socket buffer of it, and the client gets it all once it reads', async ({ path, body, check }) => {
  const traceId = `backpressure-${path.split('/').at(-1)}`;
  const client = await openPaused(path, body, traceId);
  const res = streamRes!;
  const { maxBuffered } = await heldOrEnded(res);
  // Held short of the end, with no more than a socket buffer's worth waiting here: the rest is
  // still the provider's (in its socket, or not written yet).
  expect(res.writableEnded).toBe(false);
  expect(maxBuffered).toBeLessThan(BUFFER_BOUND);

  // The provider finishes with what it has written (the rest would only take time to relay), and
  // every delta of it reaches the client, then the stream's end.
  provider.finishNow = true;
  check(await client.read());
  expect(provider.done).toBe(true);
  const rows = await ledgerFor(db, traceId);
  expect(rows).toMatchObject([{ status: 'ok', stream: true, usage_reported: true, output_tokens: provider.written * 100 }]);
});

test('a client that goes away while its stream waits for the socket releases the wait, and the call is metered as aborted', async () => {
  const traceId = 'backpressure-gone';
  const client = await openPaused('/v1/chat/completions', { model: 'flood/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Go on.' }] }, traceId);
  const res = streamRes!;
  await heldOrEnded(res);
  expect(res.writableEnded).toBe(false);
  client.req.on('error', () => undefined);
  client.req.destroy();
  // The provider's connection is given up too, not left held open.
  await provider.closed;
  let rows = await ledgerFor(db, traceId);
  for (let i = 0; i < 500 && rows.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    rows = await ledgerFor(db, traceId);
  }
  expect(rows).toMatchObject([{ status: 'aborted', stream: true, usage_reported: false }]);
  expect(rows[0]!.output_tokens).toBeGreaterThan(0);
});

test('a client that opens a stream and never reads is cut off after the stall limit: the provider is let go, and the call is metered as aborted', async () => {
  const traceId = 'backpressure-stalled';
  const t0 = Date.now();
  const client = await openPaused('/v1/chat/completions', { model: 'flood/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Go on.' }] }, traceId, stalling);
  const res = streamRes!;
  // Without a stall limit the wait lasts as long as the client stays: the provider would be held for good.
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([provider.closed.then(() => 'let go'), new Promise((resolve) => (timer = setTimeout(resolve, STALL_MS + 5_000, 'still held')))]);
  clearTimeout(timer);
  expect(outcome).toBe('let go');
  expect(Date.now() - t0).toBeGreaterThanOrEqual(STALL_MS);
  expect(res.destroyed).toBe(true);
  expect(provider.done).toBe(false);
  // The client finds its stream cut short, with no end.
  await expect(client.read()).rejects.toThrow();
  let rows = await ledgerFor(db, traceId);
  for (let i = 0; i < 500 && rows.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    rows = await ledgerFor(db, traceId);
  }
  expect(rows).toMatchObject([{ status: 'aborted', stream: true, usage_reported: false }]);
  expect(rows[0]!.output_tokens).toBeGreaterThan(0);
});
