import { MAX_RETRY_AFTER_MS, ProviderError } from './provider-error.js';
import { providerErrorFromResponse } from './provider-error-from-response.js';

describe('ProviderError retry fields', () => {
  const original = (retryAfterHintMs: number | undefined) =>
    new ProviderError({
      code: 'provider_rate_limited', provider: 'openai', message: 'slow down', status: 429, retryable: true,
      retryAfterHintMs, requestId: 'req-1', providerBody: { error: 'x' }, cause: new Error('root'),
    });

  it('derives the capped wait from the one hint: within the cap both read the same, past it only the hint is kept', () => {
    expect(original(7000)).toMatchObject({ retryAfterMs: 7000, retryAfterHintMs: 7000 });
    expect(original(MAX_RETRY_AFTER_MS)).toMatchObject({ retryAfterMs: MAX_RETRY_AFTER_MS, retryAfterHintMs: MAX_RETRY_AFTER_MS });
    expect(original(3_600_000)).toMatchObject({ retryAfterMs: undefined, retryAfterHintMs: 3_600_000 });
    expect(original(undefined)).toMatchObject({ retryAfterMs: undefined, retryAfterHintMs: undefined });
  });

  it.each([
    [7000, 7000],
    [3_600_000, undefined],
  ])('a rebuilt error (hint %i ms) keeps both the capped and the uncapped wait, and everything it was not told to change', (hint, capped) => {
    const source = original(hint);
    const rebuilt = source.withChanges({ code: 'provider_overloaded', message: 'busy' });
    expect(rebuilt).not.toBe(source);
    expect(ProviderError.is(rebuilt)).toBe(true);
    expect(rebuilt).toMatchObject({
      code: 'provider_overloaded', message: 'busy', provider: 'openai', status: 429, retryable: true,
      retryAfterMs: capped, retryAfterHintMs: hint, requestId: 'req-1', providerBody: { error: 'x' }, cause: source.cause,
    });
  });

  it('a rebuilt error read from response headers keeps the retry-after it was parsed with', () => {
    const parsed = providerErrorFromResponse('openai', 429, { 'retry-after': '3600' }, {});
    expect(parsed.withChanges({ provider: 'gateway' })).toMatchObject({ retryAfterMs: undefined, retryAfterHintMs: 3_600_000 });
    expect(providerErrorFromResponse('openai', 429, { 'retry-after': '2' }, {}).withChanges({ message: 'm' })).toMatchObject({ retryAfterMs: 2000, retryAfterHintMs: 2000 });
  });

  it('changes given as undefined clear the field, so a rebuild can drop what it must not pass on', () => {
    const rebuilt = original(7000).withChanges({ retryAfterHintMs: undefined, requestId: undefined });
    expect(rebuilt).toMatchObject({ retryAfterMs: undefined, retryAfterHintMs: undefined, requestId: undefined, providerBody: { error: 'x' } });
  });
});

describe('ProviderError public message', () => {
  it("gives callers the code's own words for account errors built without one, whoever builds them", () => {
    const said = 'Rate limit reached for gpt-4o in organization org-abc123: Limit 30000, Used 29000.';
    expect(new ProviderError({ code: 'provider_rate_limited', provider: 'openai', message: said }).publicMessage).toBe('Provider "openai" rate-limited the request.');
    expect(new ProviderError({ code: 'provider_auth_failed', provider: 'x', message: 'key sk-ab****yz' }).publicMessage).not.toContain('sk-ab');
    // Other codes keep the message, and an explicit public message wins.
    expect(new ProviderError({ code: 'provider_bad_request', provider: 'x', message: 'topN must be positive' }).publicMessage).toBe('topN must be positive');
    expect(new ProviderError({ code: 'provider_quota_exceeded', provider: 'x', message: said, publicMessage: 'over quota' }).publicMessage).toBe('over quota');
  });
});
