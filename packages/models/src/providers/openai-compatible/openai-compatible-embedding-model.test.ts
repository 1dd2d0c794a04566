import { cosineSimilarity, countTokens, fakeEmbedding, startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { ProviderError } from '../../errors/provider-error.js';
import { decodeBase64Embedding } from './openai-compatible-embedding-model.js';
import { createOpenAICompatible } from './openai-compatible-provider.js';

describe('OpenAI-compatible embedding model against the fake', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: 'sk-test' });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    fake.script.reset();
    fake.requests.length = 0;
  });

  const values = ['The cat sat on the mat.', 'Quarterly revenue grew by ten percent.'];

  it('embeds float vectors in input order with usage and request id', async () => {
    const model = createOpenAICompatible({ name: 'openai', baseURL: fake.url, apiKey: 'sk-test' }).embeddingModel('text-embedding-3-small');
    expect(model.maxEmbeddingsPerCall).toBe(2048);
    const result = await model.doEmbed({ values, dimensions: 32, headers: { 'x-trace-id': 't-9' } });
    expect(result.embeddings).toEqual(values.map((v) => fakeEmbedding(v, 32)));
    expect(result.usage).toMatchObject({ inputTokens: countTokens(values[0]!) + countTokens(values[1]!), outputTokens: 0, reported: true });
    expect(result.requestId).toMatch(/^req_fake_/);
    expect(fake.requests[0]?.body).toEqual({ model: 'text-embedding-3-small', input: values, encoding_format: 'float', dimensions: 32 });
    expect(fake.requests[0]?.headers['x-trace-id']).toBe('t-9');
  });

  it('decodes base64 embeddings and sorts by index', async () => {
    // A server that answers in base64 (and out of order) whatever we asked for.
    const base64Server: typeof fetch = async (input, init) => {
      const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
      const response = await fetch(input, { ...init, body: JSON.stringify({ ...body, encoding_format: 'base64' }) });
      const json = (await response.json()) as { data: unknown[] };
      json.data.reverse();
      return new Response(JSON.stringify(json), { status: response.status, headers: response.headers });
    };
    const model = createOpenAICompatible({ name: 'openai', baseURL: fake.url, apiKey: 'sk-test', fetch: base64Server }).embeddingModel('text-embedding-3-small');
    const result = await model.doEmbed({ values });
    expect(result.embeddings).toHaveLength(2);
    result.embeddings.forEach((vector, i) => {
      const expected = fakeEmbedding(values[i]!);
      expect(vector).toHaveLength(64);
      vector.forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 6));
    });
    const query = fakeEmbedding('a cat on a mat');
    expect(cosineSimilarity(result.embeddings[0]!, query)).toBeGreaterThan(cosineSimilarity(result.embeddings[1]!, query) + 0.3);
  });

  it('asks for base64 when the caller prefers it and the server offers it, and decodes the float32 bytes exactly', async () => {
    const openai = createOpenAICompatible({ name: 'openai', baseURL: fake.url, apiKey: 'sk-test', base64Embeddings: true }).embeddingModel('text-embedding-3-small');
    const result = await openai.doEmbed({ values, encoding: 'base64' });
    expect(fake.requests[0]?.body).toMatchObject({ encoding_format: 'base64' });
    expect(result.embeddings).toEqual(values.map((v) => Array.from(new Float32Array(fakeEmbedding(v)))));
    // A server not known to answer base64 (here: not OpenAI's own host, not marked) is asked for floats whatever the caller prefers.
    const other = createOpenAICompatible({ name: 'openai', baseURL: fake.url, apiKey: 'sk-test' }).embeddingModel('text-embedding-3-small');
    await other.doEmbed({ values, encoding: 'base64' });
    expect(fake.requests[1]?.body).toMatchObject({ encoding_format: 'float' });
    expect(createOpenAICompatible({ name: 'openai', baseURL: 'https://api.openai.com/v1' }).embeddingModel('x')).toMatchObject({ config: { base64Embeddings: true } });
  });

  it('declares the per-request token cap its API host documents, and none for other servers', () => {
    const at = (baseURL: string) => createOpenAICompatible({ name: 'p', baseURL }).embeddingModel('m').maxTokensPerCall;
    expect(at('https://api.openai.com/v1')).toBe(300_000);
    expect(at('https://api.mistral.ai/v1')).toBe(16_384);
    expect(at(fake.url)).toBeUndefined();
  });

  it('decodes little-endian float32 base64', () => {
    const bytes = Buffer.alloc(8);
    bytes.writeFloatLE(0.5, 0);
    bytes.writeFloatLE(-2, 4);
    expect(decodeBase64Embedding(bytes.toString('base64'))).toEqual([0.5, -2]);
    expect(() => decodeBase64Embedding(Buffer.alloc(3).toString('base64'))).toThrow(/multiple of 4/);
  });

  it('rejects more values than one call allows and maps errors', async () => {
    const model = createOpenAICompatible({ name: 'openai', baseURL: fake.url, apiKey: 'sk-test' }).embeddingModel('text-embedding-3-small');
    await expect(model.doEmbed({ values: new Array(2049).fill('x') })).rejects.toMatchObject({ code: 'provider_bad_request' });
    expect(fake.requests).toHaveLength(0);
    fake.script.failNext(1, { status: 429, headers: { 'retry-after-ms': '250' } });
    const error = await model.doEmbed({ values }).catch((e: unknown) => e);
    expect(ProviderError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: 'provider_rate_limited', retryAfterMs: 250 });
  });
});
