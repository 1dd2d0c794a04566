import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderError } from '../../errors/provider-error.js';
import { postJson } from './http.js';

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
