import { fakeRank, rerankTokens, startFakeVoyage, type FakeVoyage } from '@quire/fakes';
import { createVoyage } from './voyage-provider.js';
import { caught } from '../../testing/provider-test-helpers.js';

const documents = ['Paris is the capital of France.', 'Bananas are yellow.', 'France borders Spain.'];

describe('Voyage against the fake', () => {
  let fake: FakeVoyage;
  const voyage = () => createVoyage({ baseURL: fake.url, apiKey: 'pa-key' });

  beforeAll(async () => {
    fake = await startFakeVoyage({ apiKey: 'pa-key' });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    fake.script.reset();
    fake.requests.length = 0;
  });

  it('embeds with input_type and output_dimension, usage from total_tokens', async () => {
    const result = await voyage().embeddingModel('voyage-3.5').doEmbed({ values: ['hello world', 'x'], inputType: 'query', dimensions: 16 });
    expect(result).toMatchObject({ responseModelId: 'voyage-3.5', requestId: expect.stringMatching(/^voy_fake_/), usage: { inputTokens: 3, reported: true } });
    expect(result.embeddings.map((e) => e.length)).toEqual([16, 16]);
    expect(fake.requests[0]).toMatchObject({ path: '/v1/embeddings', headers: { authorization: 'Bearer pa-key' }, body: { model: 'voyage-3.5', input: ['hello world', 'x'], input_type: 'query', output_dimension: 16 } });
    await voyage().embeddingModel('voyage-3.5').doEmbed({ values: ['y'] });
    expect(fake.requests[1]?.body.input_type).toBeNull();
  });

  it('declares the per-request token cap of each model, the smallest for a model it does not know', () => {
    const cap = (model: string) => voyage().embeddingModel(model).maxTokensPerCall;
    expect([cap('voyage-3.5-lite'), cap('voyage-3.5'), cap('voyage-3-large'), cap('voyage-code-3'), cap('voyage-next')]).toEqual([1_000_000, 320_000, 120_000, 120_000, 120_000]);
  });

  it('reranks with top_k, reading data[] and total_tokens', async () => {
    const query = 'capital of France';
    const result = await voyage().rerankingModel('rerank-2.5').doRerank({ query, documents, topN: 2 });
    expect(result.results.map((r) => r.index)).toEqual(fakeRank(query, documents, 2).map((r) => r.index));
    expect(result.usage).toMatchObject({ inputTokens: rerankTokens(query, documents), searchUnits: 0, reported: true });
    expect(fake.requests[0]?.body).toEqual({ model: 'rerank-2.5', query, documents, top_k: 2 });
  });

  it.each([
    [400, 'provider_bad_request', false],
    [401, 'provider_auth_failed', false],
    [403, 'provider_permission_denied', false],
    [429, 'provider_rate_limited', true],
    [500, 'provider_server_error', true],
    [503, 'provider_overloaded', true],
  ])('maps HTTP %i to %s with the detail text', async (status, code, retryable) => {
    fake.script.failNext(2, { status, ...(status === 429 && { headers: { 'retry-after': '3' } }) });
    const error = await caught(voyage().embeddingModel('voyage-3.5').doEmbed({ values: ['x'] }));
    expect(error).toMatchObject({ code, retryable, status });
    expect(error.message.length).toBeGreaterThan(40);
    if (status === 429) expect(error.retryAfterMs).toBe(3000);
    expect(await caught(voyage().rerankingModel('rerank-2.5').doRerank({ query: 'q', documents }))).toMatchObject({ code });
  });

  it('a wrong key reads as Voyage wrote it', async () => {
    const error = await caught(createVoyage({ baseURL: fake.url, apiKey: 'bad' }).embeddingModel('voyage-3.5').doEmbed({ values: ['x'] }));
    expect(error.message).toContain('Provided API key is invalid.');
  });
});
