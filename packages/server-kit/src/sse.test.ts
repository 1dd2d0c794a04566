import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from './listen.js';
import { createLogger } from './logger.js';
import { openSse } from './sse.js';

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
