// Types only: @quire/models lists @quire/fakes among its devDependencies, so a runtime (or declared)
// dependency back on it or on @quire/gateway-client would make a workspace cycle. The types resolve
// through the workspace root, which depends on both; nothing here is imported at run time.
import type { GatewayCallContext, GatewayModels, GatewayRerankingModel } from '@quire/gateway-client';
import type { EmbeddingModelV1, GenerateOptionsV1, GenerationModelV1, StreamPartV1, UsageV1 } from '@quire/models';
import { fakeEmbedding } from './embedding.js';

/** One call the fake gateway served, in order. */
export interface FakeGatewayCall {
  capability: FakeMeterRow['capability'];
  purpose: GatewayCallContext['purpose'];
  model: string;
  queryId: string | undefined;
  context: GatewayCallContext;
  /** Embedding inputs, or the documents a reranker scored; empty for generation. */
  values: string[];
  /** The call's abort signal, when the caller gave one. */
  signal?: AbortSignal;
}

/** What the real gateway would meter for a call; the `meter` hook decides where it goes. */
export interface FakeMeterRow {
  context: GatewayCallContext;
  model: string;
  capability: 'embedding' | 'chat' | 'rerank';
  stream: boolean;
}

export interface FakeGatewayModelsOptions {
  /** Vector length when the caller asks for none (a requested dimension is honoured, like text-embedding-3). */
  dimensions: number;
  /** The embedding function; defaults to the fakes' hashed bag of words (`fakeEmbedding`). */
  embed?: (text: string, dimensions: number) => number[];
  /** What the generator says, given the prompt, streamed in the pieces returned (default: "I do not know."). */
  reply?: (options: GenerateOptionsV1) => string[];
  /** Relevance the reranker gives each document (default: longer text first). */
  rerank?: (query: string, documents: string[]) => number[];
  /** Called once for every call that succeeds, as the real gateway writes its ledger row (a stream: when it ends). */
  meter?: (row: FakeMeterRow) => Promise<void>;
  /** Every model's `provider`; by default the part of the model name before its `/`. */
  provider?: string;
  /** Default 96. */
  maxEmbeddingsPerCall?: number;
  /** How long each embedding call takes; an abort ends the wait at once. */
  latencyMs?: number;
}

export interface FakeGatewayModels extends GatewayModels {
  calls: FakeGatewayCall[];
  /** Thrown by the next calls, first one first, before they do anything else. */
  failures: unknown[];
  /** Replaceable at any time; read on every call. */
  reply: (options: GenerateOptionsV1) => string[];
  /** Replaceable at any time; read on every call. */
  rerank: (query: string, documents: string[]) => number[];
  /** The vector the fake returns for `text` (at the fake's dimensions unless given). */
  embed: (text: string, dimensions?: number) => number[];
}

function usage(inputTokens = 0): UsageV1 {
  return { inputTokens, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true };
}

function abortError(): Error {
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}

/** Like the HTTP client, a wait whose abort signal fires stops at once, rejecting with the signal's reason. */
function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The gateway as ingestion and retrieval see it, served in-process: a deterministic embedder, a
 * scripted generator and reranker. Records every call, throws queued `failures` first, and reports
 * each successful call to `meter` (tests that read the gateway's usage ledger write the row there).
 * The model methods close over the fake rather than `this`, so spreading it into a wrapper works.
 */
export function createFakeGatewayModels(options: FakeGatewayModelsOptions): FakeGatewayModels {
  const embedText = options.embed ?? fakeEmbedding;
  const meter = options.meter ?? (async () => {});
  const providerOf = (name: string) => options.provider ?? name.split('/')[0] ?? 'fake';

  function begin(capability: FakeGatewayCall['capability'], model: string, context: GatewayCallContext, values: string[], signal?: AbortSignal) {
    fake.calls.push({ capability, purpose: context.purpose, model, queryId: context.queryId, context, values, ...(signal ? { signal } : {}) });
  }
  function nextFailure() {
    if (fake.failures.length > 0) throw fake.failures.shift();
  }

  const fake: FakeGatewayModels = {
    calls: [],
    failures: [],
    reply: options.reply ?? (() => ['I do not know.']),
    rerank: options.rerank ?? ((_query, documents) => documents.map((d) => d.length)),
    embed: (text, dimensions = options.dimensions) => embedText(text, dimensions),

    embeddingModel(name, context): EmbeddingModelV1 {
      return {
        specificationVersion: 'v1',
        provider: providerOf(name),
        modelId: name,
        maxEmbeddingsPerCall: options.maxEmbeddingsPerCall ?? 96,
        async doEmbed({ values, dimensions: requested, abortSignal }) {
          begin('embedding', name, context, values, abortSignal);
          abortSignal?.throwIfAborted();
          if (options.latencyMs) await abortableDelay(options.latencyMs, abortSignal);
          nextFailure();
          await meter({ context, model: name, capability: 'embedding', stream: false });
          return {
            embeddings: values.map((v) => embedText(v, requested ?? options.dimensions)),
            usage: usage(values.join(' ').split(/\s+/).length),
          };
        },
      };
    },

    generationModel(name, context): GenerationModelV1 {
      return {
        specificationVersion: 'v1',
        provider: providerOf(name),
        modelId: name,
        async doGenerate(generateOptions) {
          begin('chat', name, context, []);
          nextFailure();
          await meter({ context, model: name, capability: 'chat', stream: false });
          return { text: fake.reply(generateOptions).join(''), toolCalls: [], finishReason: 'stop', usage: usage() };
        },
        async doStream(generateOptions) {
          begin('chat', name, context, []);
          nextFailure();
          const pieces = fake.reply(generateOptions);
          const signal = generateOptions.abortSignal;
          async function* stream(): AsyncIterable<StreamPartV1> {
            for (const text of pieces) {
              // A piece `<wait>` stalls until the caller aborts, like a slow provider.
              if (text === '<wait>') {
                await new Promise((_, reject) => {
                  if (signal?.aborted) reject(abortError());
                  signal?.addEventListener('abort', () => reject(abortError()), { once: true });
                });
              }
              yield { type: 'text-delta', text };
            }
            // The real gateway writes the ledger row when the stream ends, before the last byte.
            await meter({ context, model: name, capability: 'chat', stream: true });
            yield { type: 'finish', finishReason: 'stop', usage: usage() };
          }
          return { stream: stream() };
        },
      };
    },

    rerankingModel(name, context): GatewayRerankingModel {
      return {
        specificationVersion: 'v1',
        provider: providerOf(name),
        modelId: name,
        maxDocumentsPerCall: 1000,
        async doRerank({ query, documents }) {
          begin('rerank', name, context, documents);
          nextFailure();
          await meter({ context, model: name, capability: 'rerank', stream: false });
          const scores = fake.rerank(query, documents);
          return { results: scores.map((relevanceScore, index) => ({ index, relevanceScore })).sort((a, b) => b.relevanceScore - a.relevanceScore), usage: usage() };
        },
      };
    },
  };
  return fake;
}
