import { z } from 'zod';
import { AppError } from './app-error.js';
import { toErrorResponse } from './error-response.js';

describe('toErrorResponse', () => {
  test("an AppError's headers go out with its body", () => {
    const error = new AppError('provider_rate_limited', 'slow down', { headers: { 'retry-after': '3' } });
    expect(toErrorResponse(error, 'req-1')).toEqual({
      status: 429,
      body: { error: { type: 'rate_limit_error', code: 'provider_rate_limited', message: 'slow down', param: null, request_id: 'req-1' } },
      headers: { 'retry-after': '3' },
    });
  });

  test('errors without headers answer none, and the response does not share the error object', () => {
    expect(toErrorResponse(new AppError('not_found', 'gone'), 'r').headers).toEqual({});
    expect(toErrorResponse(z.object({ a: z.string() }).safeParse({}).error, 'r').headers).toEqual({});
    expect(toErrorResponse(new Error('boom'), 'r')).toMatchObject({ status: 500, headers: {} });
    const error = new AppError('service_unavailable', 'later', { headers: { 'retry-after': '1' } });
    toErrorResponse(error, 'r').headers['x-extra'] = 'y';
    expect(error.headers).toEqual({ 'retry-after': '1' });
  });

  test.each([
    ['a 4xx', 'budget_exceeded'],
    ['a 5xx', 'service_unavailable'],
  ] as const)("an AppError's details are never in the body (%s)", (_name, code) => {
    const { body } = toErrorResponse(new AppError(code, 'refused', { details: { budget_id: 'b1' } }), 'r');
    expect(body.error).toEqual({ type: expect.any(String), code, message: 'refused', param: null, request_id: 'r' });
  });

  test("an AppError's exposed fields go beside `error` on a 4xx, after it, and never replace it", () => {
    const error = new AppError('conflict', 'retry that one', { details: { internal: 1 }, exposed: { document_id: 'd1', reasons: ['a'], error: 'not this' } });
    const { status, body } = toErrorResponse(error, 'r');
    expect(status).toBe(409);
    expect(body).toEqual({ error: { type: 'invalid_request_error', code: 'conflict', message: 'retry that one', param: null, request_id: 'r' }, document_id: 'd1', reasons: ['a'] });
    expect(Object.keys(body)[0]).toBe('error');
  });

  test.each([['internal_error'], ['service_unavailable']] as const)('a 5xx never shows exposed fields (%s)', (code) => {
    const { body } = toErrorResponse(new AppError(code, 'down', { exposed: { document_id: 'd1' } }), 'r');
    expect(Object.keys(body)).toEqual(['error']);
  });
});
