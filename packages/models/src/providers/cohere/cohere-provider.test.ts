import { countTokens, fakeRank, startFakeCohere, type FakeCohere } from '@quire/fakes';
import { createCohere } from './cohere-provider.js';
import { caught } from '../../testing/provider-test-helpers.js';

const documents = ['Paris is the capital of France.', 'Berlin is the capital of Germany.', 'Bananas are yellow.'];

describe('Cohere v2 against the fake', () => {
  let fake: FakeCohere;
  const cohere = () => createCohere({ baseURL: fake.url, apiKey: 'co-key' });

  beforeAll(async () => {
    fake = await startFakeCohere({ apiKey: 'co-key' });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    fake.script.reset();
    fake.requests.length = 0;
  });

  it('embeds documents and queries with input_type and float embedding_types', async () => {
    const result = await cohere().embeddingModel('embed-v4.0').doEmbed({ values: ['hello world', 'bye'], inputType: 'document', dimensions: 32 });
    expect(result.embeddings.map((e) => e.length)).toEqual([32, 32]);
    expect(result.usage).toEqual({ inputTokens: 3, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true });
    expect(result.requestId).toMatch(/^emb-fake-/);
    expect(fake.requests[0]).toMatchObject({ path: '/v2/embed', headers: { authorization: 'Bearer co-key' } });
    expect(fake.requests[0]?.body).toEqual({ model: 'embed-v4.0', texts: ['hello world', 'bye'], input_type: 'search_document', embedding_types: ['float'], output_dimension: 32 });
    await cohere().embeddingModel('embed-v4.0').doEmbed({ values: ['q'], inputType: 'query' });
    expect(fake.requests[1]?.body.input_type).toBe('search_query');
  });

  it('reranks with top_n and reports search units', async () => {
    const query = 'capital of France';
    const result = await cohere().rerankingModel('rerank-v3.5').doRerank({ query, documents, topN: 2 });
    expect(result.results.map((r) => r.index)).toEqual(fakeRank(query, documents, 2).map((r) => r.index));
    expect(result.results[0]?.index).toBe(0);
    expect(result.usage).toMatchObject({ searchUnits: 1, inputTokens: 0, reported: true });
    expect(fake.requests[0]).toMatchObject({ path: '/v2/rerank', body: { model: 'rerank-v3.5', query, documents, top_n: 2 } });
  });

  it.each([
    [400, 'provider_bad_request', false],
    [401, 'provider_auth_failed', false],
    [402, 'provider_quota_exceeded', false],
    [404, 'provider_model_not_found', false],
    [429, 'provider_rate_limited', true],
    [500, 'provider_server_error', true],
    [503, 'provider_overloaded', true],
  ])('maps HTTP %i to %s from the flat {message} body', async (status, code, retryable) => {
    fake.script.failNext(2, { status });
    const embedError = await caught(cohere().embeddingModel('embed-v4.0').doEmbed({ values: ['x'] }));
    expect(embedError).toMatchObject({ code, retryable, status, provider: 'cohere' });
    const rerankError = await caught(cohere().rerankingModel('rerank-v3.5').doRerank({ query: 'q', documents }));
    expect(rerankError).toMatchObject({ code, retryable });
  });

  it('429 honours retry-after when the server sends one, and a wrong key is 401', async () => {
    fake.script.failNext(1, { status: 429, headers: { 'retry-after': '2' } });
    const error = await caught(cohere().rerankingModel('rerank-v3.5').doRerank({ query: 'q', documents }));
    expect(error).toMatchObject({ code: 'provider_rate_limited', retryAfterMs: 2000 });
    expect(error.message).toContain('Trial key');
    const bad = createCohere({ baseURL: fake.url, apiKey: 'nope' });
    expect((await caught(bad.embeddingModel('embed-v4.0').doEmbed({ values: ['x'] }))).message).toContain('invalid api token');
  });

  it('refuses more than 96 texts per call', async () => {
    const values = Array.from({ length: 97 }, (_, i) => `t${i}`);
    expect((await caught(cohere().embeddingModel('embed-v4.0').doEmbed({ values }))).code).toBe('provider_bad_request');
    expect(fake.requests).toHaveLength(0);
    expect(countTokens('hello world')).toBe(2);
  });
});
