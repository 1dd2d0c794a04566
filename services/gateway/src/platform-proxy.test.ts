import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { listen } from '@quire/server-kit';
import { platformRouter, type UpstreamError } from './platform-proxy.js';

/** A stand-in service: answers by path, as retrieval would. */
function startUpstream(): Promise<{ url: string; close: () => Promise<void> }> {
  const big = JSON.stringify({ error: { code: 'collection_not_found', message: 'x'.repeat(10_000), request_id: 'r' } });
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    if (path.endsWith('/forbidden/search')) {
      res.writeHead(403, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: { code: 'permission_denied', message: 'no', request_id: 'r' } }));
    } else if (path.endsWith('/big/search')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(big);
    } else if (path.endsWith('/text/search')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not json');
    } else if (path.endsWith('/stream/answer')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"delta":"a"}\n\n');
      setTimeout(() => res.end('data: [DONE]\n\n'), 20);
    } else if (path.endsWith('/swapped/documents')) {
      // A replacement already swapped in: ingestion points at the document that now holds it.
      res.writeHead(200, { 'content-type': 'application/json', 'content-location': '/v1/documents/d-1', 'set-cookie': 'a=b' }).end('{"duplicate":true}');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) })));
}

describe('platformRouter hooks', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let gateway: http.Server;
  let url = '';
  const seen: (UpstreamError & { path: string })[] = [];
  const admitted: string[] = [];

  beforeAll(async () => {
    upstream = await startUpstream();
    const app = express();
    app.use((_req, res, next) => {
      res.locals.traceId = 'trace-1';
      res.locals.identity = { team_id: 't', key_id: 'k', role: 'member', groups: [] };
      res.locals.internal = false;
      next();
    });
    app.use(platformRouter({ ingestionUrl: upstream.url, retrievalUrl: upstream.url }, 'secret', {
      admit: (req, res, next) => {
        admitted.push(`${req.method} ${req.path}`);
        res.setHeader('x-ratelimit-limit-requests', '9');
        next();
      },
      onUpstreamError: (req, _res, error) => seen.push({ ...error, path: req.path }),
    }));
    gateway = await new Promise<http.Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => gateway.close(r));
    await upstream.close();
  });

  const post = (path: string) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const settled = () => new Promise((r) => setTimeout(r, 50));

  test('a content-location a service sets reaches the caller; headers not on the list do not', async () => {
    const res = await post('/v1/collections/swapped/documents');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-location')).toBe('/v1/documents/d-1');
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  test("a JSON 4xx answer is passed on whole and its code handed to the hook; the admit step's headers stay", async () => {
    const res = await post('/v1/collections/forbidden/search');
    expect(res.status).toBe(403);
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('9');
    expect(((await res.json()) as any).error.code).toBe('permission_denied');
    await settled();
    expect(seen).toContainEqual({ service: 'retrieval', status: 403, code: 'permission_denied', path: '/v1/collections/forbidden/search' });
    expect(admitted).toContain('POST /v1/collections/forbidden/search');
  });

  test("an error body past the cap reaches the client intact; the hook still gets the code from the body's start", async () => {
    const res = await post('/v1/collections/big/search');
    expect(res.status).toBe(404);
    expect((await res.text()).length).toBeGreaterThan(10_000);
    await settled();
    expect(seen).toContainEqual({ service: 'retrieval', status: 404, code: 'collection_not_found', path: '/v1/collections/big/search' });
  });

  test('successes, streams and non-JSON errors are not looked into', async () => {
    const before = seen.length;
    expect((await post('/v1/collections/ok/search')).status).toBe(200);
    const stream = await post('/v1/collections/stream/answer');
    expect(await stream.text()).toContain('[DONE]');
    expect((await post('/v1/collections/text/search')).status).toBe(404);
    await settled();
    expect(seen.length).toBe(before);
  });
});

describe('streams when the gateway stops', () => {
  /** A stand-in ingestion whose progress stream never ends by itself; `/split/events` leaves an event half-sent for 300 ms. */
  function startStreamingUpstream() {
    const closedStreams: string[] = [];
    const server = http.createServer((req, res) => {
      const path = req.url ?? '';
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.on('close', () => closedStreams.push(path));
      if (path.endsWith('/events')) {
        res.write('event: progress\ndata: {"n":1}\n\n');
        if (path.includes('/split/')) {
          res.write('event: progress\ndata: {"n"');
          setTimeout(() => res.write(':2}\n\n'), 300);
        }
        return;
      }
      // An answer being generated (POST, not a live stream): it ends by itself.
      res.write('data: {"delta":"a"}\n\n');
      setTimeout(() => res.end('data: [DONE]\n\n'), 400);
    });
    return new Promise<{ url: string; closedStreams: string[]; close: () => Promise<void> }>((resolve) =>
      server.listen(0, '127.0.0.1', () =>
        resolve({
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          closedStreams,
          close: () => new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
        }),
      ),
    );
  }

  async function startGateway(upstreamUrl: string) {
    const app = express();
    app.use((_req, res, next) => {
      res.locals.traceId = 'trace-1';
      res.locals.identity = { team_id: 't', key_id: 'k', role: 'member', groups: [] };
      next();
    });
    app.use(platformRouter({ ingestionUrl: upstreamUrl, retrievalUrl: upstreamUrl }, 'secret'));
    return listen(app, 0, '127.0.0.1', { drainMs: 10_000 });
  }

  /** Resolves once the first event is in; `rest()` reads to the end. */
  async function openStream(url: string, init: RequestInit = {}) {
    const res = await fetch(url, init);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    return {
      res,
      async rest() {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return text;
          text += decoder.decode(value, { stream: true });
        }
      },
    };
  }

  let upstream: Awaited<ReturnType<typeof startStreamingUpstream>>;
  beforeAll(async () => {
    upstream = await startStreamingUpstream();
  });
  afterAll(() => upstream.close());

  const reconnect = (id: string) => `event: reconnect\nretry: 1000\ndata: ${JSON.stringify({ id, reason: 'shutdown', retry_ms: 1000 })}\n\n`;

  test('an open progress stream ends at once with a reconnect event, and its service side is closed', async () => {
    const gateway = await startGateway(upstream.url);
    const stream = await openStream(`${gateway.url}/v1/documents/doc-1/events`);
    expect(stream.res.status).toBe(200);
    const t0 = Date.now();
    await gateway.close();
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(await stream.rest()).toBe(`event: progress\ndata: {"n":1}\n\n${reconnect('doc-1')}`);
    for (let i = 0; i < 100 && !upstream.closedStreams.includes('/v1/documents/doc-1/events'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(upstream.closedStreams).toContain('/v1/documents/doc-1/events');
  });

  test('an event half passed on when the stop begins is finished first, never cut', async () => {
    const gateway = await startGateway(upstream.url);
    const stream = await openStream(`${gateway.url}/v1/documents/split/events`);
    await gateway.close();
    expect(await stream.rest()).toBe(`event: progress\ndata: {"n":1}\n\nevent: progress\ndata: {"n":2}\n\n${reconnect('split')}`);
  });

  test('an answer stream (not a live one) is waited for, whole', async () => {
    const gateway = await startGateway(upstream.url);
    const stream = await openStream(`${gateway.url}/v1/collections/c/answer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await gateway.close();
    expect(await stream.rest()).toBe('data: {"delta":"a"}\n\ndata: [DONE]\n\n');
  });
});

describe('Expect: 100-continue', () => {
  /** A stand-in ingestion on server-kit's listen(): `/refuse/` answers 503 unread (a full upload memory), others read the body first. */
  async function startUpstream() {
    const expects: (string | undefined)[] = [];
    const server = await listen((req: http.IncomingMessage, res: http.ServerResponse) => {
      expects.push(req.headers.expect);
      if (req.url?.includes('/refuse/')) {
        const refusal = '{"error":{"code":"uploads_busy"}}';
        res.writeHead(503, { 'content-type': 'application/json', 'content-length': refusal.length, 'retry-after': '5' }).end(refusal);
        return;
      }
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        const answer = JSON.stringify({ body });
        res.writeHead(202, { 'content-type': 'application/json', 'content-length': answer.length }).end(answer);
      });
    }, 0);
    return { server, expects };
  }

  /**
   * A client as curl is: sends the head, and the body only once a 100 arrives. Resolves with every
   * status line seen, the final answer's body (it has a content-length), and whether the gateway
   * closed the connection within a second of that answer.
   */
  async function upload(url: string, path: string): Promise<{ lines: string[]; body: string; closed: boolean }> {
    const { hostname, port } = new URL(url);
    const net = await import('node:net');
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname);
      let seen = '';
      let waiting: NodeJS.Timeout | undefined;
      const done = (closed: boolean) => {
        clearTimeout(waiting);
        socket.destroy();
        const lines = seen.split('\r\n').filter((line) => line.startsWith('HTTP/1.1'));
        resolve({ lines, body: seen.slice(seen.lastIndexOf('\r\n\r\n') + 4), closed });
      };
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        seen += chunk;
        if (seen === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write('hello');
        const length = /content-length: (\d+)\r\n/i.exec(seen);
        if (length && !waiting && seen.length - seen.lastIndexOf('\r\n\r\n') - 4 >= Number(length[1])) waiting = setTimeout(() => done(false), 1_000);
      });
      socket.on('end', () => done(true));
      socket.on('error', reject);
      socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n`);
    });
  }

  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let gateway: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    upstream = await startUpstream();
    const app = express();
    app.use((_req, res, next) => {
      res.locals.traceId = 'trace-1';
      res.locals.identity = { team_id: 't', key_id: 'k', role: 'member', groups: [] };
      next();
    });
    app.use(platformRouter({ ingestionUrl: upstream.server.url, retrievalUrl: upstream.server.url }, 'secret'));
    gateway = await listen(app, 0);
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.server.close();
  });

  test("a service's refusal is passed on without the client ever being asked for its body, and the connection closes after it", async () => {
    // The gateway closes the connection: the body it never asked for may still come where the next request should.
    const res = await upload(gateway.url, '/v1/collections/refuse/documents');
    expect(res).toEqual({ lines: ['HTTP/1.1 503 Service Unavailable'], body: '{"error":{"code":"uploads_busy"}}', closed: true });
    expect(upstream.expects.at(-1)).toBe('100-continue');
  });

  test("an accepted upload gets the service's 100, then its answer with the body it read", async () => {
    const res = await upload(gateway.url, '/v1/collections/ok/documents');
    expect(res.lines).toEqual(['HTTP/1.1 100 Continue', 'HTTP/1.1 202 Accepted']);
    expect(JSON.parse(res.body)).toEqual({ body: 'hello' });
    // The body was sent: the connection stays open for the client's next request.
    expect(res.closed).toBe(false);
    expect(upstream.expects.at(-1)).toBe('100-continue');
  });

  test('without the expectation, the body is streamed at once as before', async () => {
    const res = await fetch(`${gateway.url}/v1/collections/ok/documents`, { method: 'POST', body: 'plain' });
    expect([res.status, await res.json()]).toEqual([202, { body: 'plain' }]);
    expect(upstream.expects.at(-1)).toBeUndefined();
  });
});
