import { ERROR_CODES, HEADERS, isErrorCode } from '@quire/contracts';
import {
  createOpenAICompatible,
  emptyUsage,
  providerErrorFromResponse,
  ProviderError,
  type EmbeddingModelV1,
  type GenerationModelV1,
  type RerankingModelV1,
  type StreamPartV1,
} from '@quire/models';
import { AppError } from '@quire/server-kit';
import { z } from 'zod';
import type { GatewayCallContext, GatewayModels, GatewayRerankingModel } from './gateway-models.js';
import { providerOf } from './model-names.js';

/** The gateway's `POST /v1/rerank` answer (services/gateway/src/model-api/rerank.ts). */
const RerankResponseSchema = z.object({
  results: z.array(z.object({ index: z.number().int().nonnegative(), relevance_score: z.number() })),
  usage: z.object({ search_units: z.number().nonnegative().optional(), total_tokens: z.number().int().nonnegative().optional() }).optional(),
});

/** The gateway's `GET /v1/models` answer (OpenAI's list shape). */
const ModelListSchema = z.object({ data: z.array(z.object({ id: z.string() })), providers: z.array(z.string()).optional() });

/**
 * The gateway answers in OpenAI's format, so the OpenAI-compatible adapter is the client; this
 * restores the gateway's own error code (e.g. `provider_not_configured`) from the error body. A code
 * worth another try (ERROR_CODES' `retryable`) stays a retryable ProviderError, for retry loops that
 * read its flag and wait hint; its code is then the one the gateway's status maps to. The gateway's
 * own internal_error stays an AppError under its code.
 */
function restoreGatewayError(error: unknown): unknown {
  if (!ProviderError.is(error)) return error;
  const body = error.providerBody as { error?: { code?: unknown; quire_code?: unknown; message?: unknown } } | undefined;
  // Where the gateway passes a provider's own OpenAI code on as `code` (`context_length_exceeded`), its own is `quire_code`.
  const said = body?.error?.quire_code ?? body?.error?.code;
  const code = typeof said === 'string' ? said : undefined;
  const message = typeof body?.error?.message === 'string' ? body.error.message : error.message;
  if (!code || !isErrorCode(code)) return error;
  // The gateway's own internal_error is retryable too (a job tries it again, by the table), but it is
  // no provider's failure: as a ProviderError it would read as the provider's 500 to retrieval's callers.
  if (ERROR_CODES[code].retryable && code !== 'internal_error') {
    // The gateway's envelope and request id stay on `cause` only; this error carries what callers act on.
    return error.withChanges({ provider: 'gateway', message, retryable: true, requestId: undefined, providerBody: undefined, cause: error });
  }
  return new AppError(code, message, { cause: error });
}

async function* restoreStreamErrors(stream: AsyncIterable<StreamPartV1>): AsyncIterable<StreamPartV1> {
  try {
    yield* stream;
  } catch (error) {
    throw restoreGatewayError(error);
  }
}

function contextHeaders(context: GatewayCallContext): Record<string, string> {
  return {
    [HEADERS.identity]: context.identityToken,
    [HEADERS.traceId]: context.traceId,
    [HEADERS.purpose]: context.purpose,
    ...(context.collectionId ? { [HEADERS.collectionId]: context.collectionId } : {}),
    ...(context.queryId ? { [HEADERS.queryId]: context.queryId } : {}),
    ...(context.documentId ? { [HEADERS.documentId]: context.documentId } : {}),
  };
}

/** `baseUrl` may be a function: in the embedded mode the gateway's port is known only after it listens. */
export function createHttpGatewayModels(options: { baseUrl: string | (() => string); fetch?: typeof fetch }): GatewayModels {
  const baseUrl = () => (typeof options.baseUrl === 'function' ? options.baseUrl() : options.baseUrl);
  const provider = (context: GatewayCallContext) =>
    createOpenAICompatible({
      name: 'gateway',
      baseURL: `${baseUrl().replace(/\/$/, '')}/v1`,
      headers: contextHeaders(context),
      maxTokensField: 'max_tokens',
      // Quire's gateway answers base64 embeddings: float32 bytes instead of JSON numbers between services.
      base64Embeddings: true,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  return {
    embeddingModel(name, context): EmbeddingModelV1 {
      const model = provider(context).embeddingModel(name);
      return {
        specificationVersion: 'v1',
        provider: name.slice(0, name.indexOf('/')),
        modelId: name,
        maxEmbeddingsPerCall: model.maxEmbeddingsPerCall,
        doEmbed: (opts) => model.doEmbed({ ...opts, encoding: 'base64' }).catch((e: unknown) => Promise.reject(restoreGatewayError(e))),
      };
    },
    generationModel(name, context): GenerationModelV1 {
      const model = provider(context).chatModel(name);
      return {
        specificationVersion: 'v1',
        provider: name.slice(0, name.indexOf('/')),
        modelId: name,
        doGenerate: (opts) => model.doGenerate(opts).catch((e: unknown) => Promise.reject(restoreGatewayError(e))),
        doStream: async (opts) => {
          try {
            const result = await model.doStream(opts);
            return { ...result, stream: restoreStreamErrors(result.stream) };
          } catch (error) {
            throw restoreGatewayError(error);
          }
        },
      };
    },
    rerankingModel(name, context): GatewayRerankingModel {
      return {
        specificationVersion: 'v1',
        provider: name.slice(0, name.indexOf('/')),
        modelId: name,
        maxDocumentsPerCall: 1000,
        doRerank: (opts) =>
          rerankOverHttp(options.fetch ?? fetch, `${baseUrl().replace(/\/$/, '')}/v1/rerank`, contextHeaders(context), name, opts),
      };
    },
    async listModels(context) {
      let res: Response;
      try {
        res = await (options.fetch ?? fetch)(`${baseUrl().replace(/\/$/, '')}/v1/models`, {
          headers: { [HEADERS.identity]: context.identityToken, [HEADERS.traceId]: context.traceId },
        });
      } catch (error) {
        throw new AppError('service_unavailable', `The gateway could not be reached to list its models: ${String(error)}`, { cause: error });
      }
      const parsed = ModelListSchema.safeParse(await res.json().catch(() => undefined));
      if (!res.ok || !parsed.success) throw new AppError('service_unavailable', `The gateway answered ${res.status} to GET /v1/models.`);
      const models = parsed.data.data.map((m) => m.id);
      // A gateway from before `providers` was listed: the providers of its listed models.
      const providers = parsed.data.providers ?? [...new Set(models.map(providerOf).filter((p) => p !== ''))];
      return { models, providers };
    },
    async checkBudget(context, estimate) {
      let res: Response;
      try {
        res = await (options.fetch ?? fetch)(`${baseUrl().replace(/\/$/, '')}/v1/internal/budget-check`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...contextHeaders(context) },
          body: JSON.stringify(estimate),
        });
      } catch (error) {
        throw new AppError('service_unavailable', `The gateway could not be reached for a budget check: ${String(error)}`, { cause: error });
      }
      if (res.ok) return;
      const body = (await res.json().catch(() => undefined)) as { error?: { code?: unknown; message?: unknown } } | undefined;
      const code = typeof body?.error?.code === 'string' && isErrorCode(body.error.code) ? body.error.code : 'service_unavailable';
      const message = typeof body?.error?.message === 'string' ? body.error.message : `The gateway answered ${res.status} to a budget check.`;
      // Error bodies carry no `details` (toErrorResponse leaves them out): the code and message are all there is.
      throw new AppError(code, message);
    },
  };
}

type RerankCall = Parameters<RerankingModelV1['doRerank']>[0];

/** `POST /v1/rerank` (Cohere's shape); the gateway's error body keeps its code, as for chat. */
async function rerankOverHttp(doFetch: typeof fetch, url: string, headers: Record<string, string>, model: string, opts: RerankCall) {
  let res: Response;
  try {
    res = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers, ...(opts.headers ?? {}) },
      body: JSON.stringify({ model, query: opts.query, documents: opts.documents, ...(opts.topN !== undefined ? { top_n: opts.topN } : {}) }),
      ...(opts.abortSignal ? { signal: opts.abortSignal } : {}),
    });
  } catch (error) {
    if ((error as Error)?.name === 'AbortError') throw error;
    throw new ProviderError({ code: 'provider_network_error', provider: 'gateway', message: `The gateway could not be reached: ${String(error)}`, retryable: true, cause: error });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  // The gateway's error answers are OpenAI-shaped, like the chat and embedding calls': read them the same way.
  if (!res.ok) throw restoreGatewayError(providerErrorFromResponse('gateway', res.status, res.headers, body));
  const parsed = RerankResponseSchema.safeParse(body);
  if (!parsed.success) throw new AppError('provider_bad_response', `The gateway returned a rerank response Quire cannot read: ${parsed.error.issues[0]?.message ?? 'invalid'}.`);
  const outOfRange = parsed.data.results.find((r) => r.index >= opts.documents.length);
  if (outOfRange) throw new AppError('provider_bad_response', `The gateway ranked document ${outOfRange.index}, but only ${opts.documents.length} were sent.`);
  const usage = emptyUsage();
  if (parsed.data.usage?.search_units !== undefined) usage.searchUnits = parsed.data.usage.search_units;
  if (parsed.data.usage?.total_tokens !== undefined) usage.inputTokens = parsed.data.usage.total_tokens;
  const results = parsed.data.results.map((r) => ({ index: r.index, relevanceScore: r.relevance_score })).sort((a, b) => b.relevanceScore - a.relevanceScore);
  return { results, usage, ...(res.headers.get('x-request-id') ? { requestId: res.headers.get('x-request-id')! } : {}) };
}
