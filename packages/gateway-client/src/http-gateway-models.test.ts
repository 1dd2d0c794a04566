import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ERROR_CODES, isErrorCode } from '@quire/contracts';
import { ProviderError, providerErrorFromResponse } from '@quire/models';
import { AppError } from '@quire/server-kit';
import { createHttpGatewayModels } from './http-gateway-models.js';

/** A gateway stand-in that answers `/v1/rerank` with whatever the test sets next. */
let next: { status: number; body: unknown; headers?: Record<string, string> };
let server: http.Server;
let baseUrl: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end(JSON.stringify(next.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const context = { identityToken: 't', traceId: 'trace-1', purpose: 'rerank' as const };
const rerank = () => createHttpGatewayModels({ baseUrl }).rerankingModel('cohere/rerank-v3.5', context).doRerank({ query: 'q', documents: ['a', 'b', 'c'] });
const failure = () => rerank().then(() => undefined, (e: unknown) => e);

describe('the gateway client reads rerank answers through a schema', () => {
  it('reads results best first, with usage', async () => {
    next = { status: 200, body: { results: [{ index: 2, relevance_score: 0.1 }, { index: 0, relevance_score: 0.9 }], usage: { search_units: 1 } } };
    const out = await rerank();
    expect(out.results).toEqual([{ index: 0, relevanceScore: 0.9 }, { index: 2, relevanceScore: 0.1 }]);
    expect(out.usage.searchUnits).toBe(1);
  });

  it.each([
    ['a result without a score', { results: [{ index: 0 }] }],
    ['an index that is not an integer', { results: [{ index: '1', relevance_score: 0.5 }] }],
    ['no results at all', { usage: {} }],
    ['an index beyond the documents sent', { results: [{ index: 3, relevance_score: 0.5 }] }],
  ])('refuses %s as provider_bad_response rather than dropping it', async (_name, body) => {
    next = { status: 200, body };
    const error = await failure();
    expect(AppError.is(error) && error.code).toBe('provider_bad_response');
  });

  it("restores Quire's code from quire_code where the gateway passed a provider's OpenAI code on", async () => {
    next = { status: 400, body: { error: { type: 'invalid_request_error', code: 'context_length_exceeded', quire_code: 'provider_bad_request', param: 'query', message: 'openai: too long' } } };
    const error = await failure();
    expect(AppError.is(error) && { code: error.code, message: error.message }).toEqual({ code: 'provider_bad_request', message: 'openai: too long' });
  });

  it('an overloaded answer stays overloaded (503, so its retry-after can reach the client)', async () => {
    next = { status: 503, body: { error: { code: 'provider_overloaded', message: 'busy' } }, headers: { 'retry-after': '2' } };
    const error = await failure();
    expect(ProviderError.is(error) && { code: error.code, retryAfterMs: error.retryAfterMs }).toEqual({ code: 'provider_overloaded', retryAfterMs: 2000 });
  });

  it("keeps the gateway's retry-after on a rate-limited answer", async () => {
    next = { status: 429, body: { error: { code: 'provider_rate_limited', message: 'slow down' } }, headers: { 'retry-after': '3' } };
    const error = await failure();
    expect(ProviderError.is(error) && { retryable: error.retryable, retryAfterMs: error.retryAfterMs }).toEqual({ retryable: true, retryAfterMs: 3000 });
  });

  it('keeps a retry-after too long to sleep on as the hint, without making it the in-process wait', async () => {
    next = { status: 429, body: { error: { code: 'provider_rate_limited', message: 'slow down' } }, headers: { 'retry-after': '3600' } };
    const error = await failure();
    expect(ProviderError.is(error) && { provider: error.provider, retryAfterMs: error.retryAfterMs, retryAfterHintMs: error.retryAfterHintMs, requestId: error.requestId, providerBody: error.providerBody })
      .toEqual({ provider: 'gateway', retryAfterMs: undefined, retryAfterHintMs: 3_600_000, requestId: undefined, providerBody: undefined });
  });

  it("a gateway's internal error keeps its own code (an AppError a job may retry), not a provider's", async () => {
    next = { status: 500, body: { error: { type: 'server_error', code: 'internal_error', message: 'Internal error. Quote the request id when reporting it.', request_id: 'trace-1' } } };
    const error = await failure();
    expect(AppError.is(error) && { code: error.code, message: error.message }).toEqual({ code: 'internal_error', message: 'Internal error. Quote the request id when reporting it.' });
  });

  it("a provider's conflict passed on by the gateway is worth another try", async () => {
    next = { status: 502, body: { error: { type: 'upstream_error', code: 'provider_conflict', message: 'openai: busy with another request' } } };
    const error = await failure();
    expect(ProviderError.is(error) && error.retryable).toBe(true);
  });

  it.each([
    ['rate_limit_exceeded', 429],
    ['budget_exceeded', 402],
    ['provider_quota_exceeded', 429],
  ])("a refusal not worth retrying (%s) keeps the gateway's code, as an AppError", async (code, status) => {
    next = { status, body: { error: { code, message: 'no' } } };
    const error = await failure();
    expect(AppError.is(error) && error.code).toBe(code);
  });
});

describe("providers' HTTP statuses map to codes with ERROR_CODES' retry decision", () => {
  it.each([400, 401, 402, 403, 404, 408, 409, 413, 422, 424, 429, 500, 502, 503, 504, 529])('HTTP %i', (status) => {
    const error = providerErrorFromResponse('p', status, undefined, { error: { message: 'x' } });
    expect(isErrorCode(error.code) && [error.code, error.retryable]).toEqual([error.code, ERROR_CODES[error.code].retryable]);
  });
});
