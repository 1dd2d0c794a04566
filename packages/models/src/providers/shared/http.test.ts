import http from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { ProviderError } from '../../errors/provider-error.js';
import { guardedLookup, type ResolveAll } from '../../net/guarded-lookup.js';
import { egressRefusal } from '../../registry/safe-base-url.js';
import { postJson } from './http.js';
import { setEgressGuard } from './node-http.js';

function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) })),
  );
}

describe('postJson never carries a provider key through a redirect', () => {
  const keysSeenElsewhere: (string | undefined)[] = [];
  let elsewhere: Awaited<ReturnType<typeof serve>>;
  let provider: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    elsewhere = await serve((req, res) => {
      keysSeenElsewhere.push(req.headers['x-api-key'] as string | undefined);
      res.end('{}');
    });
    provider = await serve((_req, res) => {
      res.writeHead(307, { location: `${elsewhere.url}/steal` });
      res.end();
    });
  });
  afterAll(async () => {
    await elsewhere.close();
    await provider.close();
  });

  it.each([
    ['the node:http client', undefined],
    ['a custom fetch', ((url, init) => globalThis.fetch(url, init)) as typeof fetch],
  ])('%s: a 307 to another host fails the call and the other host sees nothing', async (_name, fetchFn) => {
    const error = await postJson({ provider: 'p', url: `${provider.url}/v1/messages`, headers: { 'x-api-key': 'sk-secret' }, body: {}, requestIdHeader: 'x-request-id', ...(fetchFn ? { fetch: fetchFn } : {}) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(ProviderError.is(error)).toBe(true);
    expect(keysSeenElsewhere).toEqual([]);
  });
});

describe('the egress guard checks the address every new connection resolves to', () => {
  let provider: Awaited<ReturnType<typeof serve>>;
  let calls = 0;
  beforeAll(async () => {
    provider = await serve((_req, res) => {
      calls++;
      res.end('{}');
    });
  });
  afterAll(() => provider.close());

  /** A name that "resolves" to whatever the test says: the shape of DNS rebinding, without DNS. */
  function resolvingTo(address: string): ResolveAll {
    return (_hostname, _options, callback) => callback(null, [{ address, family: isIP(address) }]);
  }
  const post = (host: string) =>
    postJson({ provider: 'p', url: `http://${host}:${new URL(provider.url).port}/v1/embeddings`, headers: {}, body: {}, requestIdHeader: 'x-request-id' }).then(
      () => undefined,
      (e: unknown) => e,
    );

  it('refuses a loopback or metadata answer with a non-retryable error, and the server sees nothing', async () => {
    setEgressGuard(`http://rebinds.test:${new URL(provider.url).port}`, guardedLookup(egressRefusal({}), resolvingTo('127.0.0.1')));
    const error = await post('rebinds.test');
    expect(error).toMatchObject({ code: 'provider_not_configured', retryable: false });
    expect((error as Error).message).toContain('127.0.0.1 is a loopback address');
    setEgressGuard(`http://imds.test:${new URL(provider.url).port}`, guardedLookup(egressRefusal({ allowPrivateNetwork: true }), resolvingTo('169.254.169.254')));
    expect((await post('imds.test')) as Error).toMatchObject({ message: expect.stringContaining('metadata') });
    expect(calls).toBe(0);
  });

  it('connects to the checked address when the policy admits it', async () => {
    setEgressGuard(`http://model-server.test:${new URL(provider.url).port}`, guardedLookup(egressRefusal({ allowLoopback: true }), resolvingTo('127.0.0.1')));
    expect(await post('model-server.test')).toBeUndefined();
    expect(calls).toBe(1);
  });
});
