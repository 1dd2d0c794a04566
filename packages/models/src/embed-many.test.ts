import { countTokens, fakeEmbedding, startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { embedMany } from './embed-many.js';
import { estimateEmbeddingTokens } from './embedding-batches.js';
import { createOpenAICompatible } from './providers/openai-compatible/openai-compatible-provider.js';
import type { EmbeddingModelV1 } from './spec/embedding/embedding-model-v1.js';
import { emptyUsage } from './spec/usage.js';

describe('embedMany', () => {
  let fake: FakeOpenAI;
  let model: EmbeddingModelV1;
  const values = ['alpha one', 'beta two', 'gamma three', 'delta four', 'epsilon five'];

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const real = createOpenAICompatible({ name: 'openai', baseURL: fake.url }).embeddingModel('text-embedding-3-small');
    // Same adapter, smaller batches, so five values make three calls.
    model = { specificationVersion: 'v1', provider: real.provider, modelId: real.modelId, maxEmbeddingsPerCall: 2, doEmbed: (o) => real.doEmbed(o) };
  });
  afterAll(() => fake.close());
  afterEach(() => {
    fake.script.reset();
    fake.requests.length = 0;
  });

  it('splits into batches, keeps input order and sums usage', async () => {
    const result = await embedMany(model, values, { maxParallelCalls: 3 });
    expect(fake.requests.map((r) => r.body.input)).toEqual(expect.arrayContaining([values.slice(0, 2), values.slice(2, 4), values.slice(4)]));
    expect(fake.requests).toHaveLength(3);
    expect(result.embeddings).toEqual(values.map((v) => fakeEmbedding(v)));
    expect(result.usage).toEqual({ ...emptyUsage(true), inputTokens: values.reduce((s, v) => s + countTokens(v), 0) });
    expect(result.responses).toHaveLength(3);
  });

  it('also splits within maxTokensPerCall, tokens estimated from UTF-8 bytes', async () => {
    // Each value is estimated at its bytes + 16: 'alpha one' 25, 'beta two' 24, 'gamma three' 27...
    const capped: EmbeddingModelV1 = { ...model, maxEmbeddingsPerCall: 10, maxTokensPerCall: 50, doEmbed: (o) => model.doEmbed(o) };
    const result = await embedMany(capped, values, { maxParallelCalls: 1 });
    expect(fake.requests.map((r) => r.body.input)).toEqual([values.slice(0, 2), values.slice(2, 3), values.slice(3, 4), values.slice(4)]);
    for (const r of fake.requests) expect((r.body.input as string[]).reduce((s, v) => s + estimateEmbeddingTokens(v), 0)).toBeLessThanOrEqual(50);
    expect(result.embeddings).toEqual(values.map((v) => fakeEmbedding(v)));
  });

  it('retries retryable errors using retry-after-ms', async () => {
    fake.script.failNext(1, { status: 429, headers: { 'retry-after-ms': '5' } });
    const result = await embedMany(model, values, { maxParallelCalls: 1 });
    expect(fake.requests).toHaveLength(4);
    expect(result.embeddings).toHaveLength(5);
  });

  it('stops on a non-retryable error', async () => {
    fake.script.failNext(1, { status: 400 });
    await expect(embedMany(model, values, { maxParallelCalls: 1 })).rejects.toMatchObject({ code: 'provider_bad_request' });
    expect(fake.requests).toHaveLength(1);
  });

  it('never runs more than maxParallelCalls at once', async () => {
    let active = 0;
    let peak = 0;
    const slow: EmbeddingModelV1 = {
      specificationVersion: 'v1',
      provider: 'mock',
      modelId: 'slow',
      maxEmbeddingsPerCall: 1,
      async doEmbed({ values: batch }) {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return { embeddings: batch.map((v) => [v.length]), usage: { ...emptyUsage(true), inputTokens: 1 } };
      },
    };
    const result = await embedMany(slow, ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff', 'g'], { maxParallelCalls: 2 });
    expect(peak).toBe(2);
    expect(result.embeddings).toEqual([[1], [2], [3], [4], [5], [6], [1]]);
    expect(result.usage.inputTokens).toBe(7);
    expect((await embedMany(slow, [])).embeddings).toEqual([]);
  });
});
