import { fakeRank, rerankTokens, startFakeJina, type FakeJina } from '@quire/fakes';
import { createJina } from './jina-provider.js';
import { caught } from '../../testing/provider-test-helpers.js';

const documents = ['Paris is the capital of France.', 'Bananas are yellow.', 'France borders Spain.'];

describe('Jina against the fake', () => {
  let fake: FakeJina;
  const jina = () => createJina({ baseURL: fake.url, apiKey: 'jina-key' });

  beforeAll(async () => {
    fake = await startFakeJina({ apiKey: 'jina-key' });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    fake.script.reset();
    fake.requests.length = 0;
  });

  it('embeds with task and dimensions, usage from total_tokens', async () => {
    const result = await jina().embeddingModel('jina-embeddings-v3').doEmbed({ values: ['hello world', 'x'], inputType: 'document', dimensions: 16 });
    expect(result).toMatchObject({ responseModelId: 'jina-embeddings-v3', usage: { inputTokens: 3, reported: true } });
    expect(result.embeddings.map((e) => e.length)).toEqual([16, 16]);
    expect(fake.requests[0]).toMatchObject({ path: '/v1/embeddings', headers: { authorization: 'Bearer jina-key' } });
    expect(fake.requests[0]?.body).toEqual({ model: 'jina-embeddings-v3', input: ['hello world', 'x'], embedding_type: 'float', task: 'retrieval.passage', dimensions: 16 });
    await jina().embeddingModel('jina-embeddings-v3').doEmbed({ values: ['y'], inputType: 'query' });
    expect(fake.requests[1]?.body.task).toBe('retrieval.query');
  });

  it('reranks with top_n without returning documents', async () => {
    const query = 'capital of France';
    const result = await jina().rerankingModel('jina-reranker-v2-base-multilingual').doRerank({ query, documents, topN: 2 });
    expect(result.results.map((r) => r.index)).toEqual(fakeRank(query, documents, 2).map((r) => r.index));
    expect(result.usage).toMatchObject({ inputTokens: rerankTokens(query, documents), reported: true });
    expect(fake.requests[0]?.body).toEqual({ model: 'jina-reranker-v2-base-multilingual', query, documents, return_documents: false, top_n: 2 });
  });

  it.each([
    [400, 'provider_bad_request', false],
    [401, 'provider_auth_failed', false],
    [402, 'provider_quota_exceeded', false],
    [429, 'provider_rate_limited', true],
    [500, 'provider_server_error', true],
    [503, 'provider_overloaded', true],
  ])('maps HTTP %i to %s with the detail text', async (status, code, retryable) => {
    fake.script.failNext(2, { status });
    const error = await caught(jina().embeddingModel('jina-embeddings-v3').doEmbed({ values: ['x'] }));
    expect(error).toMatchObject({ code, retryable, status });
    expect(error.message).toContain('[RID: fake-');
    expect(await caught(jina().rerankingModel('jina-reranker-v2-base-multilingual').doRerank({ query: 'q', documents }))).toMatchObject({ code });
  });
});
