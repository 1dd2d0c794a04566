import { providerErrorFromResponse } from '@quire/models';
import { AppError } from '@quire/server-kit';
import { kbChatErrorResponse } from './chat-routes.js';

/**
 * A kb/ chat's error body, from what the gateway client throws for the gateway's answer: an AppError
 * under Quire's code (restored from `quire_code`), with the gateway's answer as a ProviderError on
 * `cause` (packages/gateway-client restoreGatewayError). End to end: test/e2e/kb-chat.test.ts.
 */
const gatewayAnswer = (status: number, error: Record<string, unknown>) => {
  const answer = providerErrorFromResponse('gateway', status, {}, { error });
  const code = (error.quire_code ?? error.code) as 'provider_bad_request';
  return new AppError(code, String(error.message), { cause: answer });
};

describe('kbChatErrorResponse', () => {
  test("a provider's code for a request's fault is `code`, Quire's is `quire_code`, as a plain chat answers; the param is not the caller's", () => {
    const error = gatewayAnswer(400, { type: 'invalid_request_error', code: 'context_length_exceeded', quire_code: 'provider_bad_request', param: 'messages', message: 'openai: too long' });
    const { status, body } = kbChatErrorResponse(error, 'trace-1');
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'context_length_exceeded', quire_code: 'provider_bad_request', param: null, message: 'openai: too long', request_id: 'trace-1' });
  });

  test("the gateway's own errors, and errors that are no gateway answer, keep Quire's code alone", () => {
    const own = gatewayAnswer(400, { type: 'invalid_request_error', code: 'invalid_request', param: 'messages', message: 'bad' });
    expect(kbChatErrorResponse(own, 't').body.error).not.toHaveProperty('quire_code');
    expect(kbChatErrorResponse(own, 't').body.error.code).toBe('invalid_request');
    const local = new AppError('invalid_request', 'The last message must be a user message with text.', { param: 'messages' });
    expect(kbChatErrorResponse(local, 't').body.error).toMatchObject({ code: 'invalid_request', param: 'messages' });
    expect(kbChatErrorResponse(local, 't').body.error).not.toHaveProperty('quire_code');
  });
});
