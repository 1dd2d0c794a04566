import http from 'node:http';
import { listen, stopOnSignals } from './listen.js';
import { createLogger, type Logger } from './logger.js';

/** A plain node:http server whose `/slow` answers after `ms` (or never, for -1), and says when it started. */
function slowApp(ms: number) {
  let entered!: () => void;
  const started = new Promise<void>((resolve) => (entered = resolve));
  const app: http.RequestListener = (req, res) => {
    if (req.url !== '/slow') {
      res.end('fast');
      return;
    }
    entered();
    res.setHeader('content-type', 'text/plain');
    res.write('part one, ');
    if (ms >= 0) setTimeout(() => res.end('part two'), ms);
  };
  return { app, started };
}

function capturing(): { logger: Logger; warnings: { msg: string; fields: Record<string, unknown> | undefined }[] } {
  const warnings: { msg: string; fields: Record<string, unknown> | undefined }[] = [];
  return { logger: { ...createLogger({ test: 'listen' }, 'error'), warn: (msg, fields) => void warnings.push({ msg, fields }) }, warnings };
}

/** GET with an agent that keeps the connection alive; resolves with the status, the body and whether the server closed the connection. */
function get(url: string, agent: http.Agent): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

test('close() lets a request in progress finish with its whole answer, and takes no new connection meanwhile', async () => {
  const { app, started } = slowApp(400);
  const server = await listen(app, 0, '127.0.0.1', { drainMs: 5_000 });
  const agent = new http.Agent({ keepAlive: true });
  const answer = get(`${server.url}/slow`, agent);
  await started;
  const t0 = Date.now();
  const closed = server.close();
  await expect(fetch(`${server.url}/fast`)).rejects.toThrow();
  await expect(answer).resolves.toEqual({ status: 200, body: 'part one, part two', connection: 'keep-alive' });
  // Its keep-alive connection is closed once the answer is out, not left to keepAliveTimeout (65 s).
  await closed;
  expect(Date.now() - t0).toBeLessThan(3_000);
  agent.destroy();
});

test('an idle keep-alive connection does not hold close() up', async () => {
  const server = await listen(slowApp(0).app, 0);
  const agent = new http.Agent({ keepAlive: true });
  await expect(get(`${server.url}/fast`, agent)).resolves.toMatchObject({ status: 200, body: 'fast' });
  const t0 = Date.now();
  await server.close();
  expect(Date.now() - t0).toBeLessThan(1_000);
  agent.destroy();
});

test('a request that starts before its answer is sent learns the connection closes', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const started = new Promise<void>((resolve) => (entered = resolve));
  const server = await listen((_req: http.IncomingMessage, res: http.ServerResponse) => {
    entered();
    void gate.then(() => res.end('late'));
  }, 0);
  const agent = new http.Agent({ keepAlive: true });
  const answer = get(`${server.url}/`, agent);
  await started;
  const closed = server.close();
  release();
  await expect(answer).resolves.toEqual({ status: 200, body: 'late', connection: 'close' });
  await closed;
  agent.destroy();
});

test('past the drain deadline the requests still in progress are cut off, and said so', async () => {
  const { logger, warnings } = capturing();
  const { app, started } = slowApp(-1);
  const server = await listen(app, 0, '127.0.0.1', { drainMs: 200, logger });
  const agent = new http.Agent({ keepAlive: true });
  const answer = get(`${server.url}/slow`, agent);
  await started;
  const t0 = Date.now();
  await server.close();
  expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  expect(Date.now() - t0).toBeLessThan(2_000);
  await expect(answer).rejects.toThrow();
  expect(warnings).toEqual([{ msg: 'drain deadline passed; cutting off the requests still in progress', fields: { requests: 1, drain_ms: 200 } }]);
  agent.destroy();
});

test('close() twice closes once', async () => {
  const server = await listen(slowApp(0).app, 0);
  await Promise.all([server.close(), server.close()]);
  await expect(server.close()).resolves.toBeUndefined();
});

describe('stopOnSignals', () => {
  const before = { term: process.listeners('SIGTERM'), int: process.listeners('SIGINT') };
  afterEach(() => {
    for (const [signal, kept] of [['SIGTERM', before.term], ['SIGINT', before.int]] as const) {
      for (const l of process.listeners(signal)) if (!kept.includes(l)) process.off(signal, l);
    }
  });

  test('the first signal stops and exits 0; a second one exits 1 at once', async () => {
    const exits: number[] = [];
    let finish!: () => void;
    const stopping = new Promise<void>((resolve) => (finish = resolve));
    let stops = 0;
    stopOnSignals(createLogger({ test: 'listen' }, 'error'), async () => {
      stops++;
      await stopping;
    }, (code) => void exits.push(code));
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([1]);
    finish();
    await new Promise((resolve) => setImmediate(resolve));
    expect(exits).toEqual([1, 0]);
    expect(stops).toBe(1);
  });

  test('a stop that fails exits 1', async () => {
    const exits: number[] = [];
    const errors: string[] = [];
    const logger = { ...createLogger({ test: 'listen' }, 'error'), error: (msg: string) => void errors.push(msg) };
    stopOnSignals(logger, async () => {
      throw new Error('database would not close');
    }, (code) => void exits.push(code));
    process.emit('SIGTERM', 'SIGTERM');
    await new Promise((resolve) => setImmediate(resolve));
    expect(exits).toEqual([1]);
    expect(errors).toEqual(['shutdown failed']);
  });
});

describe('Expect: 100-continue', () => {
  /** Sends the head, waits for the first answer line, sends the body only after a 100; resolves with every status line seen. */
  async function expectContinue(url: string, path: string): Promise<string[]> {
    const { hostname, port } = new URL(url);
    const net = await import('node:net');
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname);
      let seen = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        seen += chunk;
        if (seen.startsWith('HTTP/1.1 100') && !seen.includes('\r\n\r\nHTTP') && seen.endsWith('\r\n\r\n')) socket.write('hello');
      });
      socket.on('end', () => resolve(seen.split('\r\n').filter((line) => line.startsWith('HTTP/1.1'))));
      socket.on('error', reject);
      socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n`);
    });
  }

  test('is answered when the handler reads the body, never when it refuses without reading', async () => {
    const app: http.RequestListener = (req, res) => {
      if (req.url === '/refuse') {
        res.writeHead(503, { 'content-length': '0' }).end();
        return;
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => res.end(body));
    };
    const server = await listen(app, 0);
    try {
      expect(await expectContinue(server.url, '/read')).toEqual(['HTTP/1.1 100 Continue', 'HTTP/1.1 200 OK']);
      expect(await expectContinue(server.url, '/refuse')).toEqual(['HTTP/1.1 503 Service Unavailable']);
    } finally {
      await server.close();
    }
  });
});
