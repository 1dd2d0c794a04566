import { ProviderError } from './provider-error.js';
import { parseRetryAfterHintMs, parseRetryAfterMs, providerErrorFromFetchFailure, providerErrorFromResponse } from './provider-error-from-response.js';
import { geminiErrorFromResponse } from '../providers/gemini/gemini-error.js';
import { withDetailMessage } from '../providers/shared/detail-error.js';

describe('providerErrorFromResponse', () => {
  it.each([
    [400, 'provider_bad_request', false],
    [413, 'provider_bad_request', false],
    [422, 'provider_bad_request', false],
    [401, 'provider_auth_failed', false],
    [402, 'provider_quota_exceeded', false],
    [403, 'provider_permission_denied', false],
    [404, 'provider_model_not_found', false],
    [408, 'provider_timeout', true],
    [504, 'provider_timeout', true],
    [409, 'provider_conflict', true],
    [429, 'provider_rate_limited', true],
    [500, 'provider_server_error', true],
    [502, 'provider_server_error', true],
    [503, 'provider_overloaded', true],
    [529, 'provider_overloaded', true],
  ])('HTTP %i -> %s (retryable %s)', (status, code, retryable) => {
    const error = providerErrorFromResponse('openai', status, {}, { error: { message: 'Something', type: 'x' } });
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code, retryable, status, provider: 'openai' });
  });

  it("keeps the provider's words about the operator's account for logs, and gives callers the code's own", () => {
    const auth = providerErrorFromResponse('openai', 401, {}, { error: { message: 'Incorrect API key provided: sk-proj-ab****wxyz.', type: 'invalid_request_error', code: 'invalid_api_key' } });
    expect(auth.message).toContain('sk-proj-ab****wxyz');
    expect(auth.publicMessage).toBe('Provider "openai" rejected the API key (HTTP 401, invalid_request_error/invalid_api_key).');
    const limited = providerErrorFromResponse('openai', 429, {}, { error: { message: 'Rate limit reached for gpt-4o in organization org-abc123 on tokens per min (TPM): Limit 30000, Used 29000.', type: 'tokens' } });
    expect(limited.publicMessage).not.toContain('org-abc123');
    // A request's own mistakes stay readable, at most 300 characters of them.
    const bad = providerErrorFromResponse('openai', 400, {}, { error: { message: "Invalid value for 'temperature'.", type: 'invalid_request_error' } });
    expect(bad.publicMessage).toBe(bad.message);
    const long = providerErrorFromResponse('openai', 400, {}, { error: { message: 'x'.repeat(5000), type: 'invalid_request_error' } });
    expect(long.publicMessage.length).toBeLessThan(400);
    expect(long.message).toContain('x'.repeat(5000));
    // A copy with a new message drops the old public one (an account code's falls back to the code's words); other changes keep it.
    expect(auth.withChanges({ retryable: true }).publicMessage).toBe(auth.publicMessage);
    expect(auth.withChanges({ message: 'rewritten' }).publicMessage).toBe('Provider "openai" rejected the API key.');
    expect(bad.withChanges({ message: 'rewritten' }).publicMessage).toBe('rewritten');
  });

  it("keeps the provider's OpenAI code and param for a request's own fault (400, 404, 413, 422), and only then", () => {
    const tooLong = { error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } };
    expect(providerErrorFromResponse('openai', 400, {}, tooLong)).toMatchObject({ code: 'provider_bad_request', providerCode: 'context_length_exceeded', providerParam: 'messages' });
    for (const status of [404, 413, 422]) expect(providerErrorFromResponse('openai', status, {}, tooLong)).toMatchObject({ providerCode: 'context_length_exceeded', providerParam: 'messages' });
    // The flat shape of OpenAI-compatible servers, and a param path.
    expect(providerErrorFromResponse('vllm', 400, {}, { object: 'error', message: 'm', type: 'BadRequestError', param: 'messages[0].content', code: 'string_above_max_length' })).toMatchObject({ providerCode: 'string_above_max_length', providerParam: 'messages[0].content' });
    // Account errors, server errors and a 409 say nothing of the provider's own.
    const none = { providerCode: undefined, providerParam: undefined };
    expect(providerErrorFromResponse('openai', 401, {}, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } })).toMatchObject(none);
    expect(providerErrorFromResponse('openai', 429, {}, { error: { message: 'q', type: 'insufficient_quota', param: 'messages', code: 'insufficient_quota' } })).toMatchObject(none);
    expect(providerErrorFromResponse('openai', 400, {}, { error: { message: 'q', type: 'insufficient_quota', param: 'messages', code: 'insufficient_quota' } })).toMatchObject({ code: 'provider_quota_exceeded', ...none });
    expect(providerErrorFromResponse('openai', 403, {}, { error: { message: 'm', type: 'x', param: 'model', code: 'unsupported_country_region_territory' } })).toMatchObject(none);
    expect(providerErrorFromResponse('openai', 500, {}, { error: { message: 'm', type: 'server_error', param: 'messages', code: 'server_error' } })).toMatchObject(none);
    expect(providerErrorFromResponse('openai', 409, {}, { error: { message: 'm', type: 'x', param: 'messages', code: 'conflict' } })).toMatchObject(none);
    // Anything that is not a code or a path: a number (vLLM's and Gemini's HTTP status), prose, markup.
    expect(providerErrorFromResponse('vllm', 400, {}, { object: 'error', message: 'm', type: 'BadRequestError', param: null, code: 400 })).toMatchObject(none);
    expect(providerErrorFromResponse('mistral', 400, {}, { object: 'error', message: 'm', type: 'invalid_request_error', param: null, code: '3051' })).toMatchObject(none);
    expect(providerErrorFromResponse('x', 400, {}, { error: { message: 'm', code: 'see https://example.com/docs', param: '<script>' } })).toMatchObject(none);
    expect(providerErrorFromResponse('x', 400, {}, { error: { message: 'm', code: 'c'.repeat(65), param: 'p'.repeat(129) } })).toMatchObject(none);
    // Anthropic and Gemini send none: nothing changes for them.
    expect(providerErrorFromResponse('anthropic', 400, {}, { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long' } })).toMatchObject(none);
    expect(geminiErrorFromResponse('gemini', 400, {}, { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'Request contains an invalid argument.' } })).toMatchObject(none);
    // A copy keeps them, unless it turns the error into an account error.
    const bad = providerErrorFromResponse('openai', 400, {}, tooLong);
    expect(bad.withChanges({ message: 'rewritten' })).toMatchObject({ providerCode: 'context_length_exceeded', providerParam: 'messages' });
    expect(bad.withChanges({ code: 'provider_auth_failed' })).toMatchObject(none);
    expect(bad.withChanges({ status: 500 })).toMatchObject(none);
  });

  it('adapters that reread an error (Gemini, the FastAPI detail of Voyage and Jina) keep the account text out of the public message', () => {
    const gemini = geminiErrorFromResponse('gemini', 429, {}, { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded for quota metric for consumer project_number:123456789012. Limit 15' } });
    expect(gemini.message).toContain('project_number:123456789012');
    expect(gemini.publicMessage).not.toContain('123456789012');
    const badKey = geminiErrorFromResponse('gemini', 400, {}, { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'API key not valid for project 987654', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] } });
    expect([badKey.code, badKey.publicMessage.includes('987654')]).toEqual(['provider_auth_failed', false]);
    const voyage = withDetailMessage('voyage', providerErrorFromResponse('voyage', 429, {}, { detail: 'You have exceeded your organisation org-XYZ TPM limit of 3M, billing tier 1' })) as ProviderError;
    expect(voyage.message).toContain('org-XYZ');
    expect(voyage.publicMessage).not.toContain('org-XYZ');
  });

  it('writes a readable message with the provider text and reads request ids', () => {
    const error = providerErrorFromResponse('anthropic', 529, { 'request-id': 'req_1' }, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(error.message).toBe('Provider "anthropic" is overloaded (HTTP 529, overloaded_error): Overloaded');
    expect(error.requestId).toBe('req_1');
    expect(providerErrorFromResponse('x', 500, new Headers({ 'x-request-id': 'abc' }), 'upstream exploded').message).toContain('upstream exploded');
    expect(providerErrorFromResponse('x', 400, {}, { type: 'error', error: { type: 't', message: 'm' }, request_id: 'req_b' }).requestId).toBe('req_b');
    expect(providerErrorFromResponse('ollama', 404, {}, { error: "model 'x' not found" }).message).toContain("model 'x' not found");
  });

  it('treats quota and billing variants as non-retryable', () => {
    expect(providerErrorFromResponse('openai', 429, { 'retry-after': '1' }, { error: { type: 'insufficient_quota', code: 'insufficient_quota', message: 'q' } })).toMatchObject({
      code: 'provider_quota_exceeded',
      retryable: false,
      retryAfterMs: undefined,
      retryAfterHintMs: undefined,
    });
    expect(providerErrorFromResponse('anthropic', 400, {}, { type: 'error', error: { type: 'billing_error', message: 'b' } }).code).toBe('provider_quota_exceeded');
  });

  it('honours x-should-retry', () => {
    expect(providerErrorFromResponse('openai', 500, { 'x-should-retry': 'false' }, {}).retryable).toBe(false);
    expect(providerErrorFromResponse('openai', 400, { 'x-should-retry': 'true' }, {}).retryable).toBe(true);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('prefers retry-after-ms, then seconds, then an HTTP date, capped at 60 s', () => {
    expect(parseRetryAfterMs({ 'retry-after-ms': '1500', 'retry-after': '9' }, now)).toBe(1500);
    expect(parseRetryAfterMs({ 'Retry-After': '2' }, now)).toBe(2000);
    expect(parseRetryAfterMs({ 'retry-after': '0.5' }, now)).toBe(500);
    expect(parseRetryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, now)).toBe(30_000);
    expect(parseRetryAfterMs({ 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' }, now)).toBe(0);
    expect(parseRetryAfterMs({ 'retry-after': '120' }, now)).toBeUndefined();
    expect(parseRetryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(parseRetryAfterMs({ 'retry-after-ms': 'x', 'retry-after': '3' }, now)).toBe(3000);
    expect(parseRetryAfterMs({}, now)).toBeUndefined();
  });

  it('keeps a hint over the cap apart from a missing one: a long wait is a reason to go elsewhere, not to retry at once', () => {
    const error = providerErrorFromResponse('openai', 429, { 'retry-after': '3600' }, {});
    expect(error).toMatchObject({ retryable: true, retryAfterMs: undefined, retryAfterHintMs: 3_600_000 });
    expect(providerErrorFromResponse('openai', 503, { 'retry-after-ms': '90000' }, {}).retryAfterHintMs).toBe(90_000);
    expect(providerErrorFromResponse('openai', 429, { 'retry-after': '7' }, {})).toMatchObject({ retryAfterMs: 7000, retryAfterHintMs: 7000 });
    expect(providerErrorFromResponse('openai', 429, {}, {}).retryAfterHintMs).toBeUndefined();
    expect(parseRetryAfterHintMs({ 'retry-after': 'Thu, 01 Jan 2026 01:00:00 GMT' }, now)).toBe(3_600_000);
    expect(parseRetryAfterHintMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
  });
});

describe('providerErrorFromFetchFailure', () => {
  it('maps network and timeout failures, and rethrows a caller abort untouched', () => {
    const refused = new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    expect(providerErrorFromFetchFailure('openai', refused)).toMatchObject({ code: 'provider_network_error', retryable: true, status: 0 });
    const timeout = new DOMException('timed out', 'TimeoutError');
    expect(providerErrorFromFetchFailure('openai', timeout)).toMatchObject({ code: 'provider_timeout', retryable: true });
    const controller = new AbortController();
    controller.abort();
    const abort = new DOMException('aborted', 'AbortError');
    expect(providerErrorFromFetchFailure('openai', abort, controller.signal)).toBe(abort);
  });
});
