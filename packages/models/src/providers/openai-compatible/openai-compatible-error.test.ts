import { openAIStreamError } from './openai-compatible-error.js';

/**
 * An error event inside a 200 stream, as OpenAI documents it (`data: {"error": {message, type, param,
 * code}}`) and as servers that leave `type` out send it (Azure's `{"error": {code, message}}`): a
 * request's fault passes the provider's code and param on as a non-stream 400 does; the account's
 * faults and server errors do not.
 */
describe('openAIStreamError', () => {
  const fieldsOf = (error: Record<string, unknown>) => {
    const e = openAIStreamError('openai', { error }, 'req_1');
    return { code: e.code, status: e.status, retryable: e.retryable, providerCode: e.providerCode, providerParam: e.providerParam };
  };

  test.each([
    ['with its type', { type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages', message: 'Too long.' }],
    ['without a type', { code: 'context_length_exceeded', param: 'messages', message: 'Too long.' }],
    ['with a null type', { type: null, code: 'context_length_exceeded', param: 'messages', message: 'Too long.' }],
  ])("a request's fault %s keeps the provider's code and param", (_, error) => {
    expect(fieldsOf(error)).toEqual({ code: 'provider_bad_request', status: 400, retryable: false, providerCode: 'context_length_exceeded', providerParam: 'messages' });
  });

  test('other OpenAI request-fault codes without a type too, and model_not_found as a 404', () => {
    expect(fieldsOf({ code: 'string_above_max_length', param: 'messages[0].content', message: 'x' })).toMatchObject({ status: 400, providerCode: 'string_above_max_length', providerParam: 'messages[0].content' });
    expect(fieldsOf({ code: 'invalid_value', param: 'tools', message: 'x' })).toMatchObject({ status: 400, providerCode: 'invalid_value' });
    expect(fieldsOf({ code: 'model_not_found', message: 'x' })).toMatchObject({ code: 'provider_model_not_found', status: 404, providerCode: 'model_not_found' });
  });

  test('a numeric code is the status (vLLM); a flat `event: error` payload is read alike', () => {
    expect(fieldsOf({ type: 'BadRequestError', code: 400, message: 'too long' })).toMatchObject({ code: 'provider_bad_request', status: 400, providerCode: undefined });
    const flat = openAIStreamError('openai', { code: 'context_length_exceeded', param: 'messages', message: 'Too long.' });
    expect(flat).toMatchObject({ status: 400, providerCode: 'context_length_exceeded', providerParam: 'messages' });
  });

  test("the account's faults keep their own codes and words, and pass no code or param on", () => {
    const key = fieldsOf({ type: 'invalid_request_error', code: 'invalid_api_key', param: null, message: 'Incorrect API key provided: sk-ab***yz.' });
    expect(key).toEqual({ code: 'provider_auth_failed', status: 401, retryable: false, providerCode: undefined, providerParam: undefined });
    expect(openAIStreamError('openai', { error: { code: 'invalid_api_key', message: 'Incorrect API key provided: sk-ab***yz.' } }).publicMessage).not.toContain('sk-ab');
    expect(fieldsOf({ code: 'insufficient_quota', message: 'You exceeded your current quota.' })).toMatchObject({ code: 'provider_quota_exceeded', providerCode: undefined });
    expect(fieldsOf({ type: 'billing_error', message: 'Spend limit.' })).toMatchObject({ code: 'provider_quota_exceeded', providerCode: undefined });
    expect(fieldsOf({ type: 'tokens', code: 'rate_limit_exceeded', message: 'Rate limit reached for org-abc.' })).toMatchObject({ code: 'provider_rate_limited', retryable: true, providerCode: undefined });
  });

  test('server errors, and codes not known as a request\'s fault, stay retryable 5xx', () => {
    expect(fieldsOf({ type: 'server_error', code: null, message: 'boom' })).toMatchObject({ code: 'provider_server_error', status: 500, retryable: true, providerCode: undefined });
    expect(fieldsOf({ code: 'server_error', message: 'boom' })).toMatchObject({ status: 500, retryable: true, providerCode: undefined });
    expect(fieldsOf({ code: 'upstream_timeout', message: 'slow' })).toMatchObject({ status: 500, retryable: true });
    expect(fieldsOf({ type: 'overloaded_error', message: 'busy' })).toMatchObject({ code: 'provider_overloaded', status: 503 });
  });
});
