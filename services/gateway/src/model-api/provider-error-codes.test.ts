import OpenAI from 'openai';
import type { Db } from '@quire/db';
import { startFakeAnthropic, type FakeAnthropic, type FakeOpenAI } from '@quire/fakes';
import type { RunningServer } from '@quire/server-kit';
import type { GatewayService } from '../gateway-service.js';
import { startBothDoors, type BothDoors } from '../testing/both-doors.js';
import { ledgerFor, TEST_ADMIN_KEY } from '../testing/gateway-harness.js';

/**
 * A provider's own OpenAI error code and param for a request's fault (`context_length_exceeded` on
 * `messages`) reach the openai SDK as `err.code` and `err.param`, through both doors and mid-stream,
 * with Quire's code beside them as `quire_code`; the ledger keeps Quire's code. Errors about the
 * operator's account keep Quire's code and words.
 */
let db: Db;
let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let service: GatewayService;
let front: RunningServer;
let viaExpress: RunningServer;
let doors: BothDoors;

const MODEL = 'openai/gpt-4o-mini';
const TOO_LONG = {
  error: {
    type: 'invalid_request_error',
    code: 'context_length_exceeded',
    param: 'messages',
    message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. Please reduce the length of the messages.",
  },
};

beforeAll(async () => {
  anthropic = await startFakeAnthropic({ apiKey: 'sk-ant' });
  doors = await startBothDoors({
    retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
    providers: { anthropic: { type: 'anthropic', baseURL: anthropic.url, apiKey: 'sk-ant', allowLoopback: true } },
    prices: { 'anthropic/claude-haiku-4-5': { input: '1', output: '5' } },
  });
  ({ db, openai, service, front, viaExpress } = doors);
});

afterAll(async () => {
  await doors?.close();
  await anthropic?.close();
});

afterEach(() => {
  openai.script.reset();
  anthropic.script.reset();
});

const client = (server: RunningServer = front) => new OpenAI({ apiKey: TEST_ADMIN_KEY, baseURL: `${server.url}/v1`, maxRetries: 0 });
const ask = { model: MODEL, messages: [{ role: 'user' as const, content: 'Summarise the attached book.' }] };

async function failureOf(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as InstanceType<typeof OpenAI.APIError>;
}

describe("a request's fault, in the provider's OpenAI words", () => {
  test.each([['front', () => front], ['express', () => viaExpress]])('through the %s door: err.code and err.param are the provider\'s, quire_code is Quire\'s', async (door, server) => {
    openai.script.failNext(1, { status: 400, body: TOO_LONG });
    const error = await failureOf(client(server()).chat.completions.create(ask, { headers: { 'x-request-id': `ctx-${door}` } }));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages', type: 'invalid_request_error' });
    expect(error.error).toMatchObject({ quire_code: 'provider_bad_request', message: expect.stringContaining('maximum context length is 128000 tokens') });
    // The ledger and the logs keep the stable code.
    await service.ledger.flush();
    expect((await ledgerFor(db, `ctx-${door}`)).map((r) => [r.status, r.error_code])).toEqual([['error', 'provider_bad_request']]);
  });

  test('a 404 and a 422 too; a param alone keeps Quire\'s code', async () => {
    openai.script.failNext(1, { status: 404, body: { error: { type: 'invalid_request_error', code: 'model_not_found', param: null, message: 'The model `gpt-9` does not exist or you do not have access to it.' } } });
    expect(await failureOf(client().chat.completions.create(ask))).toMatchObject({ status: 404, code: 'model_not_found', param: null, error: { quire_code: 'provider_model_not_found' } });
    openai.script.failNext(1, { status: 422, body: { error: { type: 'invalid_request_error', code: 'string_above_max_length', param: 'messages[0].content', message: 'too long' } } });
    expect(await failureOf(client().chat.completions.create(ask))).toMatchObject({ status: 400, code: 'string_above_max_length', param: 'messages[0].content', error: { quire_code: 'provider_bad_request' } });
    openai.script.failNext(1, { status: 400, body: { error: { type: 'invalid_request_error', code: null, param: 'temperature', message: "Invalid value for 'temperature'." } } });
    const paramOnly = await failureOf(client().chat.completions.create(ask));
    expect(paramOnly).toMatchObject({ code: 'provider_bad_request', param: 'temperature' });
    expect(paramOnly.error).not.toHaveProperty('quire_code');
  });

  test('after the first byte of a stream, the error event carries them too', async () => {
    openai.script.streamErrorAfter(1, { type: 'invalid_request_error', code: 'invalid_value', message: 'Invalid value.' });
    const stream = await client().chat.completions.create({ ...ask, stream: true });
    const error = await failureOf((async () => {
      for await (const _chunk of stream) { /* read to the error */ }
    })());
    expect(error).toMatchObject({ code: 'invalid_value', error: { quire_code: 'provider_bad_request' } });
  });

  test('embeddings answer the same way', async () => {
    openai.script.failNext(1, { status: 400, body: { error: { type: 'invalid_request_error', code: 'context_length_exceeded', param: 'input', message: 'too many tokens' } } });
    expect(await failureOf(client().embeddings.create({ model: 'openai/text-embedding-3-small', input: 'x' }))).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'input' });
  });
});

describe("what stays Quire's", () => {
  test.each([
    [401, { error: { type: 'invalid_request_error', code: 'invalid_api_key', param: null, message: 'Incorrect API key provided: sk-proj-ab****wxyz.' } }, 'provider_auth_failed'],
    [403, { error: { type: 'invalid_request_error', code: 'unsupported_country_region_territory', param: null, message: 'Country, region, or territory not supported for org-abc123.' } }, 'provider_permission_denied'],
    [429, { error: { type: 'tokens', code: 'rate_limit_exceeded', param: null, message: 'Rate limit reached for gpt-4o-mini in organization org-abc123.' } }, 'provider_rate_limited'],
    [429, { error: { type: 'insufficient_quota', code: 'insufficient_quota', param: null, message: 'You exceeded your current quota for org-abc123.' } }, 'provider_quota_exceeded'],
    [400, { error: { type: 'insufficient_quota', code: 'insufficient_quota', param: 'messages', message: 'Billing hard limit reached for org-abc123.' } }, 'provider_quota_exceeded'],
  ])('an account error (HTTP %i) keeps Quire\'s code and words', async (status, body, code) => {
    openai.script.failNext(2, { status, body, headers: { 'x-should-retry': 'false' } });
    const error = await failureOf(client().chat.completions.create(ask));
    expect(error).toMatchObject({ code, param: null });
    expect(error.error).not.toHaveProperty('quire_code');
    expect(error.message).not.toMatch(/org-abc123|sk-proj/);
  });

  test('a 5xx and an Anthropic 400 (no OpenAI code) are unchanged', async () => {
    openai.script.failNext(2, { status: 500, body: { error: { type: 'server_error', code: 'server_error', param: null, message: 'boom' } } });
    expect(await failureOf(client().chat.completions.create(ask))).toMatchObject({ status: 502, code: 'provider_server_error', param: null });
    anthropic.script.failNext(1, { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } } });
    const error = await failureOf(client().chat.completions.create({ ...ask, model: 'anthropic/claude-haiku-4-5' }));
    expect(error).toMatchObject({ status: 400, code: 'provider_bad_request', param: null, message: expect.stringContaining('prompt is too long') });
    expect(error.error).not.toHaveProperty('quire_code');
  });
});
