import { ProviderError } from '@quire/models';
import { mayBeBilled } from './attempts.js';

const network = (code: string) =>
  new ProviderError({ code: 'provider_network_error', provider: 'p', message: 'x', retryable: true, cause: new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) }) });

describe('which failed attempts may still be billed', () => {
  it('a provider that answered with an error status did not bill', () => {
    expect(mayBeBilled(new ProviderError({ code: 'provider_rate_limited', provider: 'p', message: 'x', status: 429, retryable: true }), false)).toBe(false);
    expect(mayBeBilled(new ProviderError({ code: 'provider_server_error', provider: 'p', message: 'x', status: 500, retryable: true }), false)).toBe(false);
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'QUIRE_EGRESS_REFUSED'])('a request that never left (%s) cannot be billed', (code) => {
    expect(mayBeBilled(network(code), false)).toBe(false);
  });

  it('nor can one cut off by the connect deadline', () => {
    expect(mayBeBilled(new ProviderError({ code: 'provider_timeout', provider: 'p', message: 'connect deadline', retryable: true }), false, 'connect')).toBe(false);
  });

  it('a deadline, a reset connection or a client abort after sending may have been billed', () => {
    expect(mayBeBilled(new ProviderError({ code: 'provider_timeout', provider: 'p', message: 'first byte deadline', retryable: true }), false, 'first byte')).toBe(true);
    expect(mayBeBilled(network('ECONNRESET'), false)).toBe(true);
    expect(mayBeBilled(new DOMException('aborted', 'AbortError'), true)).toBe(true);
  });
});
