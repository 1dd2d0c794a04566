import { randomUUID } from 'node:crypto';
import { openTestDatabase, type Db } from '@quire/db';
import { fakeEmbedding, startFakeAnthropic, startFakeOpenAI, toBase64Float32, type FakeAnthropic, type FakeOpenAI } from '@quire/fakes';
import { createModelRegistry, createPriceBook } from '@quire/models';
import { createLogger, listen, signIdentity, type RunningServer } from '@quire/server-kit';
import { createGatewayService } from './gateway-service.js';
import { createModelCatalog } from './model-catalog.js';
import { ADMIN_AUTH, TEST_ADMIN_KEY } from './testing/gateway-harness.js';

const SECRET = 'test-secret-test-secret-test-secret-0123';
const logger = createLogger({ test: 'gateway' }, 'error');

let db: Db;
let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let gateway: RunningServer;

beforeAll(async () => {
  [db, openai, anthropic] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test' }), startFakeAnthropic({ apiKey: 'sk-ant-test' })]);
  const registry = createModelRegistry({
    openai: { type: 'openai-compatible', baseURL: openai.url, apiKey: 'sk-test', base64Embeddings: true, allowLoopback: true },
    anthropic: { type: 'anthropic', baseURL: anthropic.url, apiKey: 'sk-ant-test', allowLoopback: true },
  });
  // Simple prices make the expected costs easy to compute by hand: $1/M input, $2/M output.
  const priceBook = createPriceBook({
    'openai/gpt-4o-mini': { input: '1', output: '2', asOf: 'test', source: 'test' },
    'openai/text-embedding-3-small': { input: '0.02', output: '0', asOf: 'test', source: 'test' },
    'anthropic/claude-haiku-4-5': { input: '1', output: '5', asOf: 'test', source: 'test' },
  });
  const { handler } = createGatewayService({
    db,
    catalog: createModelCatalog(registry, priceBook, logger),
    logger,
    internalSecret: SECRET,
    upstreams: { ingestionUrl: 'http://127.0.0.1:9', retrievalUrl: 'http://127.0.0.1:9' },
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    governance: { adminKey: TEST_ADMIN_KEY },
  });
  gateway = await listen(handler, 0);
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openai?.close(), anthropic?.close()]);
  await db?.close();
});

beforeEach(() => {
  openai.script.reset();
  anthropic.script.reset();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...ADMIN_AUTH, ...headers }, body: JSON.stringify(body) });
}

async function ledgerFor(traceId: string) {
  const r = await db.query<{ status: string; provider: string; model: string; input_tokens: number; output_tokens: number; cost_usd: string | null; attempt: number; purpose: string; query_id: string | null; team_id: string; usage_reported: boolean }>(
    `SELECT status, provider, model, input_tokens, output_tokens, cost_usd::text AS cost_usd, attempt, purpose, query_id::text AS query_id, team_id, usage_reported
       FROM usage_ledger WHERE trace_id = $1 ORDER BY id`,
    [traceId],
  );
  return r.rows;
}

/** Exact decimal of n micro-dollars, as Postgres prints numeric(24,12). */
const micros = (n: number) => (n / 1e6).toFixed(12);

describe('OpenAI-compatible model API', () => {
  test('non-streaming chat answers in OpenAI format and writes one priced ledger row', async () => {
    const res = await post('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there' }] }, { 'x-request-id': 'trace-chat-1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('trace-chat-1');
    const body = ((await res.json()) as any);
    expect(body.object).toBe('chat.completion');
    expect(body.model).toBe('openai/gpt-4o-mini');
    expect(body.choices[0].message.content).toBe('Hello from the fake OpenAI server.');
    const rows = await ledgerFor('trace-chat-1');
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ status: 'ok', provider: 'openai', model: 'gpt-4o-mini', purpose: 'api', usage_reported: true });
    expect(row.input_tokens).toBe(body.usage.prompt_tokens);
    expect(row.output_tokens).toBe(body.usage.completion_tokens);
    expect(row.cost_usd).toBe(micros(body.usage.prompt_tokens * 1 + body.usage.completion_tokens * 2));
    // The upstream got the bare model id and our key, never the caller's.
    expect(openai.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
    expect(openai.requests.at(-1)!.headers.authorization).toBe('Bearer sk-test');
  });

  test('streaming chat sends OpenAI chunks, the usage chunk and [DONE], and meters the stream', async () => {
    const res = await post(
      '/v1/chat/completions',
      { model: 'openai/gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Stream please' }] },
      { 'x-request-id': 'trace-stream-1' },
    );
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await res.text();
    const events = text.split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(content).toBe('Hello from the fake OpenAI server.');
    const usageChunk = chunks.at(-1);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.completion_tokens).toBeGreaterThan(0);
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('stop');
    const rows = await ledgerFor('trace-stream-1');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.cost_usd).toBe(micros(usageChunk.usage.prompt_tokens + usageChunk.usage.completion_tokens * 2));
  });

  test('Anthropic models are served through the same OpenAI format, streaming too', async () => {
    const res = await post(
      '/v1/chat/completions',
      { model: 'anthropic/claude-haiku-4-5', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] },
      { 'x-request-id': 'trace-anthropic-1' },
    );
    const events = (await res.text()).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('Hello from the fake Anthropic server.');
    const sent = anthropic.requests.at(-1)!.body;
    expect(sent.system).toBe('Be brief.');
    expect(sent.model).toBe('claude-haiku-4-5');
    const usage = chunks.at(-1).usage;
    const rows = await ledgerFor('trace-anthropic-1');
    expect(rows[0]!.cost_usd).toBe(micros(usage.prompt_tokens * 1 + usage.completion_tokens * 5));
  });

  test('embeddings answer as floats and as base64 for the OpenAI SDK', async () => {
    const floatRes = await post('/v1/embeddings', { model: 'openai/text-embedding-3-small', input: ['alpha beta', 'gamma'] }, { 'x-request-id': 'trace-embed-1' });
    const floats = ((await floatRes.json()) as any);
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0].embedding).toHaveLength(64);
    expect(openai.requests.at(-1)?.body).toMatchObject({ encoding_format: 'float' });
    const b64Res = await post('/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'alpha beta', encoding_format: 'base64' });
    const b64 = ((await b64Res.json()) as any);
    // A base64 caller gets base64 from the provider too: the provider's float32 bytes, unchanged.
    expect(openai.requests.at(-1)?.body).toMatchObject({ encoding_format: 'base64' });
    expect(b64.data[0].embedding).toBe(toBase64Float32(fakeEmbedding('alpha beta')));
    const bytes = Buffer.from(b64.data[0].embedding, 'base64');
    const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
    expect(decoded[0]).toBeCloseTo(floats.data[0].embedding[0], 5);
    const rows = await ledgerFor('trace-embed-1');
    expect(rows[0]!.cost_usd).toBe(micros(floats.usage.prompt_tokens * 0.02));
  });

  test('a 429 with retry-after is retried; every attempt is in the ledger', async () => {
    openai.script.failNext(1, { status: 429, headers: { 'retry-after': '0' } });
    const res = await post('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'retry me' }] }, { 'x-request-id': 'trace-retry-1' });
    expect(res.status).toBe(200);
    const rows = await ledgerFor('trace-retry-1');
    expect(rows.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'error'],
      [2, 'ok'],
    ]);
  });

  test('a retry-after longer than the route allows to wait is not retried early: the caller gets the 429', async () => {
    openai.script.failNext(1, { status: 429, headers: { 'retry-after': '30' } });
    const res = await post('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'later' }] }, { 'x-request-id': 'trace-retry-long' });
    expect(res.status).toBe(429);
    const body = (await res.json()) as any;
    expect(body.error).toMatchObject({ code: 'provider_rate_limited' });
    expect((await ledgerFor('trace-retry-long')).map((r) => r.status)).toEqual(['error']);
  });

  test('a provider auth failure is not retried and answers with an OpenAI-style error', async () => {
    openai.script.failNext(1, { status: 401 });
    const res = await post('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { 'x-request-id': 'trace-401' });
    expect(res.status).toBe(502);
    const body = ((await res.json()) as any);
    expect(body.error).toMatchObject({ code: 'provider_auth_failed', type: 'upstream_error', request_id: 'trace-401' });
    // The provider's text names the operator's (masked) key: the caller is not shown it.
    expect(body.error.message).toBe('openai: Provider "openai" rejected the API key (HTTP 401, invalid_request_error/invalid_api_key).');
    expect(await ledgerFor('trace-401')).toHaveLength(1);
  });

  test('callers cannot redirect a call', async () => {
    const res = await post('/v1/chat/completions', { model: 'openai/gpt-4o-mini', api_base: 'http://evil.example', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(400);
    expect((((await res.json()) as any)).error.code).toBe('forbidden_field');
    const nested = await post('/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'x', extra: { extra_headers: { a: 'b' } } });
    expect((((await nested.json()) as any)).error).toMatchObject({ code: 'forbidden_field', param: 'extra.extra_headers' });
  });

  test('an unconfigured provider says what to set', async () => {
    const res = await post('/v1/chat/completions', { model: 'mistral/mistral-small', messages: [{ role: 'user', content: 'x' }] });
    const body = ((await res.json()) as any);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(body.error.message).toMatch(/MISTRAL_API_KEY|not configured|QUIRE_PROVIDERS_JSON/);
  });

  test('bad requests get a 400 naming the field', async () => {
    const res = await post('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [] });
    expect(res.status).toBe(400);
    const body = ((await res.json()) as any);
    expect(body.error).toMatchObject({ code: 'invalid_request', param: 'messages' });
    const notJson = await fetch(`${gateway.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json', ...ADMIN_AUTH }, body: '{nope' });
    expect((((await notJson.json()) as any)).error.code).toBe('invalid_json');
  });

  test('service calls carry attribution from a signed identity; a forged identity is refused', async () => {
    const queryId = randomUUID();
    const token = signIdentity({ team_id: 'team-a', key_id: 'key-1', role: 'member', groups: [] }, SECRET);
    await post('/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'attributed' }, {
      'x-request-id': 'trace-attr-1', 'x-quire-identity': token, 'x-quire-purpose': 'query-embed', 'x-quire-query-id': queryId,
    });
    const rows = await ledgerFor('trace-attr-1');
    expect(rows[0]).toMatchObject({ team_id: 'team-a', purpose: 'query-embed', query_id: queryId });
    const forged = await post('/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'x' }, { 'x-quire-identity': token.slice(0, -2) + 'xx' });
    expect(forged.status).toBe(401);
  });

  test('GET /v1/models lists priced models of configured providers', async () => {
    const body = ((await (await fetch(`${gateway.url}/v1/models`, { headers: ADMIN_AUTH })).json()) as any);
    const ids = body.data.map((m: { id: string }) => m.id);
    expect(ids).toContain('openai/gpt-4o-mini');
    expect(ids).toContain('anthropic/claude-haiku-4-5');
    expect(ids.every((id: string) => id.startsWith('openai/') || id.startsWith('anthropic/'))).toBe(true);
    // Beside the list: the configured providers, which serve models it does not name.
    expect(body.providers).toEqual(expect.arrayContaining(['anthropic', 'openai']));
  });

  test('GET /v1/models/{id} answers the model object (slash sent as is or encoded), or an OpenAI-style 404', async () => {
    const object = { id: 'openai/gpt-4o-mini', object: 'model', created: 0, owned_by: expect.any(String) };
    for (const path of ['/v1/models/openai/gpt-4o-mini', '/v1/models/openai%2Fgpt-4o-mini']) {
      const res = await fetch(`${gateway.url}${path}`, { headers: ADMIN_AUTH });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(object);
    }
    const missing = await fetch(`${gateway.url}/v1/models/openai/no-such-model`, { headers: ADMIN_AUTH });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found', param: 'model' });
  });
});
