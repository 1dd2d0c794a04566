import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from './listen.js';
import { createLogger } from './logger.js';
import { openSse, type OpenSseOptions, type SseStream } from './sse.js';

/**
 * Streams and the server's stop: a live stream that listens for the drain ends at once with its own
 * goodbye event; one that does not (an answer being generated) is waited for as any request is.
 */

/** Opens `path` and resolves once its headers are in; `body` resolves with the whole text once it ends. */
function openStream(url: string): Promise<{ body: Promise<string> }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        const body = new Promise<string>((done, fail) => {
          res.on('end', () => done(text));
          res.on('error', fail);
        });
        body.catch(() => undefined);
        resolve({ body });
      })
      .on('error', reject);
  });
}

/** `/live` lasts until the server stops, then says so; `/answer` ends by itself after 400 ms. */
const streams: http.RequestListener = (req, res) => {
  const sse = openSse(res);
  sse.send({ n: 1 }, 'progress');
  if (req.url === '/live') {
    sse.onDrain(() => {
      sse.send({ reason: 'shutdown' }, 'reconnect', { retryMs: 1000 });
      sse.end();
    });
    return;
  }
  setTimeout(() => {
    sse.sendRaw('[DONE]');
    sse.end();
  }, 400);
};

test('a live stream that listens for the drain ends at once with its goodbye, and does not hold the stop', async () => {
  const server = await listen(streams, 0, '127.0.0.1', { drainMs: 10_000 });
  const { body } = await openStream(`${server.url}/live`);
  const t0 = Date.now();
  await server.close();
  expect(Date.now() - t0).toBeLessThan(1_500);
  expect(await body).toBe('event: progress\ndata: {"n":1}\n\nevent: reconnect\nretry: 1000\ndata: {"reason":"shutdown"}\n\n');
});

test('a stream that does not listen for the drain (an answer) is waited for, whole', async () => {
  const server = await listen(streams, 0, '127.0.0.1', { drainMs: 10_000 });
  const { body } = await openStream(`${server.url}/answer`);
  await server.close();
  expect(await body).toBe('event: progress\ndata: {"n":1}\n\ndata: [DONE]\n\n');
});

test('draining is seen by every open stream, and a listener added once it has begun still runs', async () => {
  const server = await listen(streams, 0, '127.0.0.1', { drainMs: 10_000 });
  const opened = await Promise.all([openStream(`${server.url}/live`), openStream(`${server.url}/live`)]);
  const closed = server.close();
  expect(server.drain.draining).toBe(true);
  const late: string[] = [];
  const removed = server.drain.onDrain(() => late.push('removed'));
  removed();
  server.drain.onDrain(() => late.push('late'));
  expect(late).toEqual([]);
  await closed;
  expect(late).toEqual(['late']);
  for (const { body } of opened) expect(await body).toContain('event: reconnect');
});

test('a drain listener that throws is logged and the others still run', async () => {
  const errors: string[] = [];
  const logger = { ...createLogger({ test: 'sse' }, 'error'), error: (msg: string) => void errors.push(msg) };
  const server = await listen(streams, 0, '127.0.0.1', { logger });
  const told: string[] = [];
  server.drain.onDrain(() => {
    throw new Error('boom');
  });
  server.drain.onDrain(() => told.push('second'));
  await server.close();
  expect(told).toEqual(['second']);
  expect(errors).toEqual(['a drain listener failed']);
});

test("a stream of a server listen() did not start never drains (its server's own stop is not known)", async () => {
  let draining: boolean | undefined;
  const plain = http.createServer((_req, res) => {
    const sse = openSse(res);
    draining = sse.draining;
    sse.end();
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  const { body } = await openStream(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`);
  await body;
  expect(draining).toBe(false);
  await new Promise((resolve) => plain.close(resolve));
});

describe('backpressure: ready()', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /**
   * One SSE response and its client, the client paused from its headers on (it reads nothing until
   * `read()`): `body` resolves with everything it got once the stream ends.
   */
  async function pausedPair(handler?: (sse: SseStream, res: http.ServerResponse) => void, options?: OpenSseOptions) {
    let opened!: (value: { sse: SseStream; res: http.ServerResponse }) => void;
    const server = http.createServer((_req, res) => {
      const sse = openSse(res, options);
      handler?.(sse, res);
      opened({ sse, res });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const serverSide = new Promise<{ sse: SseStream; res: http.ServerResponse }>((resolve) => (opened = resolve));
    const client = await new Promise<{ req: http.ClientRequest; res: http.IncomingMessage }>((resolve, reject) => {
      const req = http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, (res) => {
        res.pause();
        resolve({ req, res });
      });
      req.on('error', reject);
    });
    let text = '';
    const body = new Promise<string>((resolve, reject) => {
      client.res.on('end', () => resolve(text));
      client.res.on('error', reject);
    });
    body.catch(() => undefined);
    const read = () => {
      client.res.setEncoding('utf8');
      client.res.on('data', (chunk: string) => (text += chunk));
      client.res.resume();
    };
    return { ...(await serverSide), client, read, body };
  }

  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
  /** One event far past any socket buffer: its write cannot be taken whole, whoever reads. */
  const HUGE = 'x'.repeat(8 * 1024 * 1024);

  test('nothing to wait for while writes are taken; one shared wait once a batch or a write is past the buffer, released by the drain', async () => {
    const pair = await pausedPair();
    pair.sse.send({ n: 1 });
    expect(pair.sse.ready()).toBeUndefined();
    await nextTurn();
    expect(pair.sse.ready()).toBeUndefined();
    pair.sse.send({ huge: HUGE });
    // Still this turn's batch, not written yet, but already more than the socket takes at once.
    const wait = pair.sse.ready();
    expect(wait).toBeInstanceOf(Promise);
    expect(pair.sse.ready()).toBe(wait);
    await nextTurn();
    // Written now, and not taken whole: the same wait holds until the socket drains.
    expect(pair.sse.ready()).toBe(wait);
    pair.read();
    await wait;
    expect(pair.sse.ready()).toBeUndefined();
    pair.sse.sendRaw('[DONE]');
    pair.sse.end();
    const body = await pair.body;
    expect(body.length).toBe(`data: {"n":1}\n\ndata: {"huge":"${HUGE}"}\n\ndata: [DONE]\n\n`.length);
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  test('a client that goes away releases the wait, and the stream reads as closed', async () => {
    const pair = await pausedPair();
    pair.sse.send({ huge: HUGE });
    await nextTurn();
    const wait = pair.sse.ready();
    expect(wait).toBeInstanceOf(Promise);
    pair.client.req.destroy();
    await wait;
    expect(pair.sse.closed).toBe(true);
    expect(pair.sse.ready()).toBeUndefined();
  });

  test('a wait that sees no drain for the stall limit destroys the response: the wait is released and the stream reads as closed', async () => {
    const pair = await pausedPair(undefined, { stallMs: 150 });
    const closes: string[] = [];
    pair.sse.onClose(() => closes.push('closed'));
    pair.sse.send({ huge: HUGE });
    await nextTurn();
    const wait = pair.sse.ready();
    expect(wait).toBeInstanceOf(Promise);
    const t0 = Date.now();
    await wait;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    expect(pair.res.destroyed).toBe(true);
    expect(pair.sse.closed).toBe(true);
    expect(closes).toEqual(['closed']);
    expect(pair.sse.ready()).toBeUndefined();
    // The client's connection is gone too: once it reads, it gets no end.
    pair.read();
    await expect(pair.body).rejects.toThrow();
  });

  test('a drain before the stall limit takes the timer back: a reader that keeps up is never cut off', async () => {
    const pair = await pausedPair(undefined, { stallMs: 150 });
    pair.sse.send({ huge: HUGE });
    await nextTurn();
    const wait = pair.sse.ready();
    expect(wait).toBeInstanceOf(Promise);
    pair.read();
    await wait;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pair.res.destroyed).toBe(false);
    expect(pair.sse.closed).toBe(false);
    pair.sse.end();
    expect((await pair.body).length).toBe(`data: {"huge":"${HUGE}"}\n\n`.length);
  });

  test.each([
    ['a network source, 16 events a turn', 16],
    ['a source with every event at hand', Infinity],
  ])('a relay loop that waits on it stops pulling while its reader reads nothing, and buffers no more than a socket buffer and a batch (%s)', async (_name, perTurn) => {
    const EVENTS = 4000;
    const PIECE = 'lorem ipsum '.repeat(340);
    let pulled = 0;
    let ended = false;
    let maxBuffered = 0;
    /** Resolves when the loop first waits, or when it ends without having waited. */
    let stopped!: () => void;
    const stop = new Promise<void>((resolve) => (stopped = resolve));
    /** Like a provider's stream: `perTurn` events per network chunk, each chunk in its own turn. */
    async function* source() {
      for (let i = 0; i < EVENTS; i++) {
        if (i % perTurn === 0) await nextTurn();
        pulled++;
        yield { i, text: PIECE };
      }
    }
    const pair = await pausedPair((sse, res) => {
      void (async () => {
        for await (const event of source()) {
          if (sse.closed) break;
          sse.send(event);
          maxBuffered = Math.max(maxBuffered, res.writableLength);
          const full = sse.ready();
          if (full) {
            stopped();
            await full;
          }
        }
        sse.sendRaw('[DONE]');
        sse.end();
        ended = true;
        stopped();
      })();
    });
    // The loop comes to wait while the client reads nothing; written regardless, it would run to the end.
    await stop;
    expect(ended).toBe(false);
    expect(pulled).toBeLessThan(EVENTS);
    pair.read();
    const events = (await pair.body).split('\n\n').filter(Boolean);
    expect(events).toHaveLength(EVENTS + 1);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(JSON.parse(events[EVENTS - 1]!.slice('data: '.length)).i).toBe(EVENTS - 1);
    // Below the socket's mark (16 KiB) before a write, plus a batch held at that mark, plus the event that crossed it.
    expect(maxBuffered).toBeLessThan(64 * 1024);
  });
});
