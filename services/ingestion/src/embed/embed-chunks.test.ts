import { createHash } from 'node:crypto';
import type { GatewayModels } from '@quire/gateway-client';
import { estimateEmbeddingTokens, ProviderError, type EmbeddingModelV1 } from '@quire/models';
import { tokenLength } from '../chunk/token-length.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { embedChunks } from './embed-chunks.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const context = () => ({ identityToken: 't', traceId: 'trace', purpose: 'ingest-embed' as const });

/** Distinct chunks of about `chars` characters of prose, so each has its own vector. */
function chunks(count: number, chars: number): string[] {
  const words = 'revenue grew while the board approved a budget for the new warehouse in spring'.split(' ');
  return Array.from({ length: count }, (_, i) => {
    let text = `Chunk ${i}:`;
    for (let w = i; text.length < chars; w++) text += ` ${words[w % words.length]}`;
    return text;
  });
}

/**
 * A provider that refuses, as OpenAI does, a request whose tokens (its own cl100k count) exceed
 * `maxTokensPerCall`, and records each call it accepts.
 */
function strictProvider(options: { maxEmbeddingsPerCall: number; maxTokensPerCall?: number }) {
  const fake = createFakeGatewayModels({ dimensions: 8 });
  const calls: string[][] = [];
  const model: EmbeddingModelV1 = {
    specificationVersion: 'v1',
    provider: 'strict',
    modelId: 'strict/embed',
    maxEmbeddingsPerCall: options.maxEmbeddingsPerCall,
    ...(options.maxTokensPerCall !== undefined ? { maxTokensPerCall: options.maxTokensPerCall } : {}),
    async doEmbed({ values }) {
      const tokens = sum(values.map(tokenLength));
      if (options.maxTokensPerCall !== undefined && tokens > options.maxTokensPerCall) {
        throw new ProviderError({ code: 'provider_bad_request', provider: 'strict', message: `Requested ${tokens} tokens, max ${options.maxTokensPerCall} tokens per request` });
      }
      if (values.length > options.maxEmbeddingsPerCall) {
        throw new ProviderError({ code: 'provider_bad_request', provider: 'strict', message: `Too many inputs: ${values.length}` });
      }
      calls.push(values);
      return { embeddings: values.map((v) => fake.embed(v)), usage: { inputTokens: tokens, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true } };
    },
  };
  const models: GatewayModels = {
    embeddingModel: () => model,
    generationModel: () => {
      throw new Error('embeddings only');
    },
    rerankingModel: () => {
      throw new Error('embeddings only');
    },
  };
  return { models, model, calls, embed: fake.embed };
}

const embedAll = (models: GatewayModels, texts: string[], extra: { batchCap?: number; batchMaxTokens?: number } = {}) => {
  const progress: number[] = [];
  const run = embedChunks({
    models,
    modelName: 'strict/embed',
    texts,
    hashes: texts.map(sha256),
    context,
    expectedDimensions: null,
    batchCap: extra.batchCap ?? 96,
    ...(extra.batchMaxTokens !== undefined ? { batchMaxTokens: extra.batchMaxTokens } : {}),
    onBatch: async (n) => void progress.push(n),
  });
  return run.then((result) => ({ result, progress }));
};

describe('the token estimate embedChunks batches by', () => {
  it('is never below the cl100k_base count, digits, CJK and symbols included', () => {
    const samples = [
      'Quarterly revenue grew by ten percent.',
      '3.14159265358979323846264338327950288419716939937510',
      '東京都の人口は約千四百万人です。',
      '}}]]))!!??;;::,,..--__==++**&&^^%%$$##@@',
      'Ünïcödé Straße naïve café résumé',
    ];
    for (const text of samples) expect(estimateEmbeddingTokens(text)).toBeGreaterThanOrEqual(tokenLength(text));
  });
});

describe('embedChunks batching by tokens', () => {
  it('splits chunks whose tokens exceed the model budget into several calls within it, vectors in order', async () => {
    const provider = strictProvider({ maxEmbeddingsPerCall: 2048, maxTokensPerCall: 3_000 });
    const texts = chunks(40, 1_500);
    // Not vacuous: the whole set in one call is refused by the provider.
    expect(sum(texts.map(tokenLength))).toBeGreaterThan(3_000);
    await expect(provider.model.doEmbed({ values: texts })).rejects.toMatchObject({ code: 'provider_bad_request' });

    const { result, progress } = await embedAll(provider.models, texts);

    expect(provider.calls.length).toBeGreaterThan(1);
    for (const values of provider.calls) {
      expect(sum(values.map(tokenLength))).toBeLessThanOrEqual(3_000);
      expect(sum(values.map(estimateEmbeddingTokens))).toBeLessThanOrEqual(3_000);
    }
    expect(provider.calls.flat()).toEqual(texts);
    expect(result.vectors).toEqual(texts.map((t) => provider.embed(t)));
    expect(result.providerTexts).toBe(texts.length);
    expect(progress.at(-1)).toBe(texts.length);
  });

  it('holds to the caller budget when the model declares none', async () => {
    const provider = strictProvider({ maxEmbeddingsPerCall: 2048 });
    const texts = chunks(30, 800);
    const { result } = await embedAll(provider.models, texts, { batchMaxTokens: 4_000 });
    expect(provider.calls.length).toBeGreaterThanOrEqual(Math.ceil(sum(texts.map(estimateEmbeddingTokens)) / 4_000));
    for (const values of provider.calls) expect(sum(values.map(estimateEmbeddingTokens))).toBeLessThanOrEqual(4_000);
    expect(provider.calls.flat()).toEqual(texts);
    expect(result.vectors).toEqual(texts.map((t) => provider.embed(t)));
  });

  it('applies the default budget when the caller sets none, and still caps the count', async () => {
    const provider = strictProvider({ maxEmbeddingsPerCall: 2048 });
    // 96 chunks of 4,000 characters: about 386K estimated tokens, over the 100,000 default.
    const long = chunks(96, 4_000);
    await embedAll(provider.models, long);
    expect(provider.calls.length).toBeGreaterThanOrEqual(4);
    for (const values of provider.calls) expect(sum(values.map(estimateEmbeddingTokens))).toBeLessThanOrEqual(100_000);
    expect(provider.calls.flat()).toEqual(long);

    const short = strictProvider({ maxEmbeddingsPerCall: 5 });
    await embedAll(short.models, chunks(12, 20), { batchCap: 96 });
    expect(short.calls.map((c) => c.length)).toEqual([5, 5, 2]);
  });

  it('embeds a repeated text once and gives every copy its vector', async () => {
    const provider = strictProvider({ maxEmbeddingsPerCall: 2048, maxTokensPerCall: 1_000 });
    const [a, b, c] = chunks(3, 900);
    const texts = [a!, b!, a!, c!, b!];
    const { result } = await embedAll(provider.models, texts);
    expect(provider.calls.flat()).toEqual([a, b, c]);
    expect(result.vectors).toEqual(texts.map((t) => provider.embed(t)));
  });
});
