/**
 * @jest-environment <rootDir>/packages/models/test-fixtures/onnx-test-environment.cjs
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModel, env } from '@huggingface/transformers';
import { TINY_MODELS, TOKEN_ROWS, TOKEN_SCORES, TYPE_SCORES, tokenId, writeTinyBertModels } from '../../../test-fixtures/tiny-bert.js';
import { embedMany } from '../../embed-many.js';
import { ProviderError } from '../../errors/provider-error.js';
import { createModelRegistry } from '../../registry/model-registry.js';
import { providersFromEnv } from '../../registry/providers-config.js';
import { BGE_QUERY_INSTRUCTION } from './local-embedding-model-options.js';
import { createLocal } from './local-provider.js';

// Expectations are computed here from the fixture's tables, independently of the provider's code:
// words are in the tiny vocabulary, so tokenising is [CLS] + words + [SEP].
const tokens = (text: string): string[] => ['[CLS]', ...text.split(' '), '[SEP]'];
const normalise = (v: number[]): number[] => {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};
const meanOfRows = (toks: string[]): number[] =>
  normalise(TOKEN_ROWS[0]!.map((_, h) => toks.reduce((sum, t) => sum + TOKEN_ROWS[tokenId(t)]![h]!, 0) / toks.length));
const pairLogit = (query: string, doc: string): number =>
  tokens(query).reduce((sum, t) => sum + TOKEN_SCORES[tokenId(t)]! + TYPE_SCORES[0]!, 0) +
  [...doc.split(' '), '[SEP]'].reduce((sum, t) => sum + TOKEN_SCORES[tokenId(t)]! + TYPE_SCORES[1]!, 0);
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function expectVectorsClose(actual: number[][], expected: number[][]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((vector, i) => {
    expect(vector).toHaveLength(expected[i]!.length);
    vector.forEach((x, h) => expect(x).toBeCloseTo(expected[i]![h]!, 5));
  });
}

async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (ProviderError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
}

let modelsDir: string;
let cacheDir: string;
beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'quire-local-models-'));
  cacheDir = await mkdtemp(join(tmpdir(), 'quire-local-cache-'));
  await writeTinyBertModels(modelsDir);
});
afterAll(async () => {
  await rm(modelsDir, { recursive: true, force: true });
  await rm(cacheDir, { recursive: true, force: true });
});

describe('local embeddings', () => {
  it('mean-pools the real tokens (padding excluded), normalises, and counts tokens fed', async () => {
    const model = createLocal({ modelsDir, threads: 1 }).embeddingModel(TINY_MODELS.minilm);
    const values = ['the cat sat', 'a dog ran in the park fast'];
    const result = await model.doEmbed({ values });
    expectVectorsClose(result.embeddings, values.map((v) => meanOfRows(tokens(v))));
    result.embeddings.forEach((v) => expect(Math.hypot(...v)).toBeCloseTo(1, 6));
    expect(result.usage).toMatchObject({ inputTokens: 5 + 9, outputTokens: 0, reported: true });
    expect(model).toMatchObject({ specificationVersion: 'v1', provider: 'local', modelId: TINY_MODELS.minilm, maxEmbeddingsPerCall: 32 });
  });

  it('tokenises with WordPiece: lower-cased, sub-words and punctuation split', async () => {
    const model = createLocal({ modelsDir, threads: 1 }).embeddingModel(TINY_MODELS.minilm);
    const result = await model.doEmbed({ values: ['The Cats: sat'] });
    expectVectorsClose(result.embeddings, [meanOfRows(['[CLS]', 'the', 'cat', '##s', ':', 'sat', '[SEP]'])]);
    expect(result.usage.inputTokens).toBe(7);
  });

  it('uses CLS pooling and the query instruction for bge by default', async () => {
    const local = createLocal({ modelsDir, threads: 1 });
    const bge = local.embeddingModel(TINY_MODELS.bge);
    const document = await bge.doEmbed({ values: ['the cat sat on the mat'], inputType: 'document' });
    expectVectorsClose(document.embeddings, [normalise(TOKEN_ROWS[tokenId('[CLS]')]!)]);
    expect(document.usage.inputTokens).toBe(8);
    const query = await bge.doEmbed({ values: ['the cat'], inputType: 'query' });
    expect(query.usage.inputTokens).toBe(2 + 8 + 2); // [CLS] + 7 instruction words + ":" + 2 words + [SEP]

    // Mean pooling over the same query proves the exact instruction text reached the tokenizer.
    const meanBge = local.embeddingModel(TINY_MODELS.bge, { pooling: 'mean' });
    const instruction = BGE_QUERY_INSTRUCTION.toLowerCase().replace(':', ' :').trim();
    expectVectorsClose((await meanBge.doEmbed({ values: ['the cat'], inputType: 'query' })).embeddings, [meanOfRows(tokens(`${instruction} the cat`))]);
    const noPrefix = local.embeddingModel(TINY_MODELS.bge, { pooling: 'mean', queryPrefix: '' });
    expectVectorsClose((await noPrefix.doEmbed({ values: ['the cat'], inputType: 'query' })).embeddings, [meanOfRows(tokens('the cat'))]);
  });

  it('takes per-model overrides from the settings', async () => {
    const local = createLocal({ modelsDir, threads: 1, embeddingModels: { [TINY_MODELS.minilm]: { queryPrefix: 'what is ', maxEmbeddingsPerCall: 4 } } });
    const model = local.embeddingModel(TINY_MODELS.minilm);
    expect(model.maxEmbeddingsPerCall).toBe(4);
    const result = await model.doEmbed({ values: ['a car'], inputType: 'query' });
    expectVectorsClose(result.embeddings, [meanOfRows(tokens('what is a car'))]);
  });

  it('enforces maxEmbeddingsPerCall, and embedMany batches through it', async () => {
    const model = createLocal({ modelsDir, threads: 1 }).embeddingModel(TINY_MODELS.minilm, { maxEmbeddingsPerCall: 2 });
    expect((await providerError(model.doEmbed({ values: ['a', 'a', 'a'] }))).code).toBe('provider_bad_request');
    const values = ['the cat', 'a dog ran', 'the red car', 'the cat sat on the mat', 'dog'];
    const result = await embedMany(model, values, { maxParallelCalls: 3 });
    expectVectorsClose(result.embeddings, values.map((v) => meanOfRows(tokens(v))));
    expect(result.responses).toHaveLength(3);
    expect(result.usage.inputTokens).toBe(values.reduce((n, v) => n + tokens(v).length, 0));
  });

  it('truncates to the model limit and counts only the tokens fed', async () => {
    const model = createLocal({ modelsDir, threads: 1 }).embeddingModel(TINY_MODELS.minilm);
    const words = Array.from({ length: 30 }, (_, i) => ['the', 'cat', 'sat'][i % 3]!);
    const result = await model.doEmbed({ values: [words.join(' ')] });
    expect(result.usage.inputTokens).toBe(16); // tokenizer_config model_max_length
    expectVectorsClose(result.embeddings, [meanOfRows(['[CLS]', ...words.slice(0, 15)])]);
  });

  it('returns nothing for no values and rejects a dimension it cannot produce', async () => {
    const model = createLocal({ modelsDir, threads: 1 }).embeddingModel(TINY_MODELS.minilm);
    expect(await model.doEmbed({ values: [] })).toEqual({ embeddings: [], usage: expect.objectContaining({ inputTokens: 0, reported: true }) });
    expect((await providerError(model.doEmbed({ values: ['cat'], dimensions: 384 }))).code).toBe('provider_bad_request');
  });

  it('loads each model once, however many calls race for it', async () => {
    const original = AutoModel.from_pretrained;
    let loads = 0;
    AutoModel.from_pretrained = ((...args: Parameters<typeof original>) => {
      loads++;
      return original.apply(AutoModel, args);
    }) as typeof original;
    try {
      const local = createLocal({ modelsDir, threads: 1 });
      const results = await Promise.all(
        ['cat', 'dog', 'car', 'mat'].map((v) => local.embeddingModel(TINY_MODELS.minilm).doEmbed({ values: [v] })),
      );
      expect(results.map((r) => r.usage.inputTokens)).toEqual([3, 3, 3, 3]);
      expect(loads).toBe(1);
    } finally {
      AutoModel.from_pretrained = original;
    }
  });

  it('honours an aborted signal before running', async () => {
    const model = createLocal({ modelsDir, threads: 1 }).embeddingModel(TINY_MODELS.minilm);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(model.doEmbed({ values: ['cat'], abortSignal: controller.signal })).rejects.toThrow('stop');
  });
});

describe('local reranking', () => {
  it('scores (query, document) pairs with sigmoid(logit), sorted best first, with topN', async () => {
    const model = createLocal({ modelsDir, threads: 1 }).rerankingModel(TINY_MODELS.crossEncoder);
    const query = 'what cat';
    const documents = ['the dog ran', 'the cat sat on the mat', 'a red car', 'cat', 'the mat'];
    const expected = documents
      .map((doc, index) => ({ index, relevanceScore: sigmoid(pairLogit(query, doc)) }))
      .sort((a, b) => b.relevanceScore - a.relevanceScore);
    expect(expected.map((r) => r.index)).toEqual([1, 3, 4, 0, 2]); // the fixture's scores make this order

    const result = await model.doRerank({ query, documents, topN: 3 });
    expect(result.results.map((r) => r.index)).toEqual([1, 3, 4]);
    result.results.forEach((r, i) => expect(r.relevanceScore).toBeCloseTo(expected[i]!.relevanceScore, 6));
    const pairTokens = documents.reduce((n, doc) => n + tokens(query).length + doc.split(' ').length + 1, 0);
    expect(result.usage).toMatchObject({ inputTokens: pairTokens, reported: true });
  });

  it('batches many documents over several forward passes and keeps input indices', async () => {
    const model = createLocal({ modelsDir, threads: 1 }).rerankingModel(TINY_MODELS.crossEncoder);
    const words = ['cat', 'dog', 'mat', 'car', 'park', 'sat', 'red'];
    const documents = Array.from({ length: 40 }, (_, i) => `${words[i % 7]} ${words[(i * 3) % 7]} ${words[(i * 5 + 1) % 7]}`);
    const result = await model.doRerank({ query: 'where did the cat go', documents });
    expect(result.results).toHaveLength(40);
    expect(new Set(result.results.map((r) => r.index)).size).toBe(40);
    for (const r of result.results) expect(r.relevanceScore).toBeCloseTo(sigmoid(pairLogit('where did the cat go', documents[r.index]!)), 6);
    const scores = result.results.map((r) => r.relevanceScore);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('returns no results for no documents', async () => {
    const model = createLocal({ modelsDir, threads: 1 }).rerankingModel(TINY_MODELS.crossEncoder);
    expect((await model.doRerank({ query: 'cat', documents: [] })).results).toEqual([]);
  });
});

describe('local model errors', () => {
  it('says which model to download and where when the folder is missing, and retries after it appears', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quire-local-empty-'));
    try {
      const local = createLocal({ modelsDir: dir, threads: 1 });
      const error = await providerError(local.embeddingModel('Xenova/bge-small-en-v1.5').doEmbed({ values: ['cat'] }));
      expect(error.code).toBe('provider_model_not_found');
      expect(error.provider).toBe('local');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain(join(dir, 'Xenova/bge-small-en-v1.5'));
      expect(error.message).toContain('https://huggingface.co/Xenova/bge-small-en-v1.5');
      expect(error.message).toContain('onnx/model.onnx');
      const rerankError = await providerError(local.rerankingModel('Xenova/nope').doRerank({ query: 'q', documents: ['d'] }));
      expect(rerankError.message).toContain('Xenova/ms-marco-MiniLM-L-6-v2');

      await writeTinyBertModels(dir);
      const result = await local.embeddingModel(TINY_MODELS.minilm).doEmbed({ values: ['cat'] });
      expect(result.usage.inputTokens).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports an unreachable hub as not configured, with the offline recipe', async () => {
    const realFetch = env.fetch;
    env.fetch = async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND huggingface.co'), { code: 'ENOTFOUND' }) });
    };
    try {
      const local = createLocal({ cacheDir, threads: 1 });
      const error = await providerError(local.embeddingModel('Xenova/all-MiniLM-L6-v2').doEmbed({ values: ['cat'] }));
      expect(error.code).toBe('provider_not_configured');
      expect(error.message).toContain('could not be reached');
      expect(error.message).toContain('QUIRE_LOCAL_MODELS_DIR');
    } finally {
      env.fetch = realFetch;
    }
  });

  it('reports a broken model file as a bad response', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quire-local-broken-'));
    try {
      await writeTinyBertModels(dir);
      await writeFile(join(dir, TINY_MODELS.minilm, 'onnx', 'model.onnx'), 'not an onnx file');
      const error = await providerError(createLocal({ modelsDir: dir, threads: 1 }).embeddingModel(TINY_MODELS.minilm).doEmbed({ values: ['cat'] }));
      expect(error.code).toBe('provider_bad_response');
      expect(error.message).toContain(TINY_MODELS.minilm);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('local provider in the registry', () => {
  it('is configured from QUIRE_LOCAL_MODELS_DIR / _DOWNLOAD and serves embeddings and reranking', async () => {
    expect(providersFromEnv({ QUIRE_LOCAL_MODELS_DIR: modelsDir })).toEqual({ local: { type: 'local', modelsDir } });
    expect(providersFromEnv({ QUIRE_LOCAL_MODELS_DOWNLOAD: 'true' })).toEqual({ local: { type: 'local', allowRemote: true } });
    const registry = createModelRegistry(providersFromEnv({ QUIRE_LOCAL_MODELS_DIR: modelsDir }));
    expect(registry.providers()).toEqual([{ name: 'local', type: 'local' }]);
    const embedder = registry.embeddingModel(`local/${TINY_MODELS.minilm}`);
    expect(embedder).toMatchObject({ provider: 'local', modelId: TINY_MODELS.minilm });
    expectVectorsClose((await embedder.doEmbed({ values: ['the cat'] })).embeddings, [meanOfRows(tokens('the cat'))]);
    const reranker = registry.rerankingModel(`local/${TINY_MODELS.crossEncoder}`);
    expect((await reranker.doRerank({ query: 'cat', documents: ['dog', 'cat'] })).results.map((r) => r.index)).toEqual([1, 0]);
    expect(() => registry.generationModel('local/any')).toThrow(/no generation models/);
  });
});
