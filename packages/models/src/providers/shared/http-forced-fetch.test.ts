import http from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { ResolveAll } from '../../net/guarded-lookup.js';

// QUIRE_HTTP_CLIENT is read when http.ts loads, so this file sets it first and imports the modules
// itself (each test file has its own module registry).
process.env.QUIRE_HTTP_CLIENT = 'fetch';
const { postJson, DEFAULT_TRANSPORT } = await import('./http.js');
const { setEgressGuard } = await import('./node-http.js');
const { guardedLookup } = await import('../../net/guarded-lookup.js');
const { egressRefusal } = await import('../../registry/safe-base-url.js');
delete process.env.QUIRE_HTTP_CLIENT;

describe('QUIRE_HTTP_CLIENT=fetch keeps the connect-time egress guard', () => {
  let server: http.Server;
  let port: number;
  let calls = 0;
  const agents: (string | undefined)[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      calls++;
      agents.push(req.headers['user-agent']);
      res.setHeader('connection', 'close');
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    calls = 0;
    agents.length = 0;
  });

  /** A name that "resolves" to whatever the test says: the shape of DNS rebinding, without DNS. */
  const resolvingTo =
    (address: string): ResolveAll =>
    (_hostname, _options, callback) =>
      callback(null, [{ address, family: isIP(address) }]);
  const post = (host: string, fetch?: typeof globalThis.fetch) =>
    postJson({ provider: 'p', url: `http://${host}:${port}/v1/embeddings`, headers: {}, body: {}, requestIdHeader: 'x-request-id', ...(fetch ? { fetch } : {}) }).then(
      (r) => r.response.status,
      (e: unknown) => e,
    );
  const marked = Object.assign((input: Parameters<typeof fetch>[0], init?: RequestInit) => fetch(input, init), { [DEFAULT_TRANSPORT]: true });

  it('refuses a name that resolves to a loopback or metadata address, and the server sees nothing', async () => {
    setEgressGuard(`http://rebinds.test:${port}`, guardedLookup(egressRefusal({}), resolvingTo('127.0.0.1')));
    for (const fetch of [undefined, globalThis.fetch, marked]) {
      const error = await post('rebinds.test', fetch);
      expect(error).toMatchObject({ code: 'provider_not_configured', retryable: false });
      expect((error as Error).message).toContain('127.0.0.1 is a loopback address');
    }
    setEgressGuard(`http://imds.test:${port}`, guardedLookup(egressRefusal({ allowPrivateNetwork: true }), resolvingTo('169.254.169.254')));
    expect((await post('imds.test')) as Error).toMatchObject({ message: expect.stringContaining('metadata') });
    expect(calls).toBe(0);
  });

  it('connects to the checked address when the policy admits it (the name exists only in the guard)', async () => {
    setEgressGuard(`http://model-server.test:${port}`, guardedLookup(egressRefusal({ allowLoopback: true }), resolvingTo('127.0.0.1')));
    expect(await post('model-server.test')).toBe(200);
    expect(await post('model-server.test', marked)).toBe(200);
    expect(calls).toBe(2);
    // fetch sends a user-agent; the node:http client sends none, so this was not served by it.
    expect(agents).toEqual(['undici', 'undici']);
  });

  it('calls an unguarded origin with the global fetch', async () => {
    expect(await post('127.0.0.1')).toBe(200);
    expect(agents).toEqual(['node']);
  });
});
