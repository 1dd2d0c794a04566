import type { Queryable } from '@quire/db';
import type { GatewayCallContext, GatewayModels } from '@quire/gateway-client';
import { fakeEmbedding } from '@quire/fakes';
import { emptyUsage, type EmbeddingModelV1, type GenerateOptionsV1, type GenerationModelV1, type RerankingModelV1, type StreamPartV1 } from '@quire/models';

/** Prices the fake gateway meters at; a model named `fake/unpriced` has no price (NULL cost). */
export const FAKE_COSTS = { 'query-embed': '0.000000100000', generate: '0.000000200000', rerank: '0.000000300000' } as const;

function teamOf(identityToken: string): { team_id: string; key_id: string } {
  const payload = identityToken.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { team_id: string; key_id: string };
}

export interface FakeGatewayModels extends GatewayModels {
  calls: { purpose: string; model: string; queryId: string | undefined }[];
  /** What the generator says, given the prompt; streamed in the pieces returned. */
  reply: (options: GenerateOptionsV1) => string[];
  /** Relevance the reranker gives each document (default: longer text first). */
  rerank: (query: string, documents: string[]) => number[];
}

/**
 * Stands in for the gateway: a deterministic hashed bag-of-words embedder and a scripted
 * generator, each writing the ledger row the real gateway would write for the call's query_id.
 */
export function createFakeGatewayModels(db: Queryable, dimensions: number): FakeGatewayModels {
  const fake: FakeGatewayModels = {
    calls: [],
    reply: () => ['I do not know.'],
    embeddingModel: (name, context) => embeddingModel(db, fake, name, context, dimensions),
    generationModel: (name, context) => generationModel(db, fake, name, context),
    rerank: (_query, documents) => documents.map((d) => d.length),
    rerankingModel: (name, context): RerankingModelV1 => ({
      specificationVersion: 'v1',
      provider: 'fake',
      modelId: name,
      maxDocumentsPerCall: 1000,
      async doRerank({ query, documents }) {
        fake.calls.push({ purpose: context.purpose, model: name, queryId: context.queryId });
        await meter(db, context, name, 'rerank', 'ok', false);
        const scores = fake.rerank(query, documents);
        return { results: scores.map((relevanceScore, index) => ({ index, relevanceScore })).sort((a, b) => b.relevanceScore - a.relevanceScore), usage: emptyUsage() };
      },
    }),
  };
  return fake;
}

async function meter(db: Queryable, context: GatewayCallContext, model: string, capability: 'embedding' | 'chat' | 'rerank', status: 'ok' | 'aborted', stream: boolean) {
  const who = teamOf(context.identityToken);
  const cost = model === 'fake/unpriced' ? null : FAKE_COSTS[context.purpose as keyof typeof FAKE_COSTS] ?? null;
  await db.query(
    `INSERT INTO usage_ledger (trace_id, team_id, key_id, purpose, collection_id, query_id, capability, provider, model, stream, status,
  input_tokens, output_tokens, usage_reported, cost_usd, latency_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'fake', $8, $9, $10, 10, $11, true, $12::numeric, 1)`,
    [context.traceId, who.team_id, who.key_id, context.purpose, context.collectionId ?? null, context.queryId ?? null, capability, model, stream, status, capability === 'chat' ? 5 : 0, cost],
  );
}

function embeddingModel(db: Queryable, fake: FakeGatewayModels, name: string, context: GatewayCallContext, dimensions: number): EmbeddingModelV1 {
  return {
    specificationVersion: 'v1',
    provider: 'fake',
    modelId: name,
    maxEmbeddingsPerCall: 96,
    async doEmbed({ values, dimensions: requested }) {
      fake.calls.push({ purpose: context.purpose, model: name, queryId: context.queryId });
      await meter(db, context, name, 'embedding', 'ok', false);
      // Like text-embedding-3, the fake shortens its vectors when asked for fewer dimensions.
      return { embeddings: values.map((v) => fakeEmbedding(v, requested ?? dimensions)), usage: emptyUsage() };
    },
  };
}

function abortError(): Error {
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}

function generationModel(db: Queryable, fake: FakeGatewayModels, name: string, context: GatewayCallContext): GenerationModelV1 {
  return {
    specificationVersion: 'v1',
    provider: 'fake',
    modelId: name,
    async doGenerate(options) {
      fake.calls.push({ purpose: context.purpose, model: name, queryId: context.queryId });
      await meter(db, context, name, 'chat', 'ok', false);
      return { text: fake.reply(options).join(''), toolCalls: [], finishReason: 'stop', usage: emptyUsage() };
    },
    async doStream(options) {
      fake.calls.push({ purpose: context.purpose, model: name, queryId: context.queryId });
      const pieces = fake.reply(options);
      async function* stream(): AsyncIterable<StreamPartV1> {
        for (const text of pieces) {
          // A piece `<wait>` stalls until the caller aborts, like a slow provider.
          if (text === '<wait>') {
            await new Promise((_, reject) => {
              if (options.abortSignal?.aborted) reject(abortError());
              options.abortSignal?.addEventListener('abort', () => reject(abortError()), { once: true });
            });
          }
          yield { type: 'text-delta', text };
        }
        // The real gateway writes the ledger row when the stream ends, before the last byte.
        await meter(db, context, name, 'chat', 'ok', true);
        yield { type: 'finish', finishReason: 'stop', usage: emptyUsage() };
      }
      return { stream: stream() };
    },
  };
}
