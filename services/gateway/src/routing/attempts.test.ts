import { ProviderError } from '@quire/models';
import { mayBeBilled } from './attempts.js';

const timeout = new ProviderError({ code: 'provider_timeout', provider: 'p', message: 'first byte deadline', retryable: true });
const reset = new ProviderError({ code: 'provider_network_error', provider: 'p', message: 'ECONNRESET', retryable: true });

describe('which failed attempts may still be billed', () => {
  it('nothing that never reached a connection: refused, unresolved, a TLS failure, the connect deadline, an early abort', () => {
    expect(mayBeBilled(reset, false, false)).toBe(false);
    expect(mayBeBilled(timeout, false, false)).toBe(false);
    expect(mayBeBilled(new DOMException('aborted', 'AbortError'), true, false)).toBe(false);
  });

  it('nothing the provider answered with an error status', () => {
    expect(mayBeBilled(new ProviderError({ code: 'provider_rate_limited', provider: 'p', message: 'x', status: 429, retryable: true }), false, true)).toBe(false);
    expect(mayBeBilled(new ProviderError({ code: 'provider_server_error', provider: 'p', message: 'x', status: 500, retryable: true }), false, true)).toBe(false);
  });

  it('a deadline, a reset or a client abort after the request went out', () => {
    expect(mayBeBilled(timeout, false, true)).toBe(true);
    expect(mayBeBilled(reset, false, true)).toBe(true);
    expect(mayBeBilled(new DOMException('aborted', 'AbortError'), true, true)).toBe(true);
  });
});
