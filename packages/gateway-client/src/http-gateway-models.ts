import { HEADERS, isErrorCode } from '@quire/contracts';
import {
  createOpenAICompatible,
  ProviderError,
  type EmbeddingModelV1,
  type GenerationModelV1,
  type StreamPartV1,
} from '@quire/models';
import { AppError } from '@quire/server-kit';
import type { GatewayCallContext, GatewayModels } from './gateway-models.js';

/** Gateway codes after which the same call may succeed if tried again. */
const RETRYABLE = new Set(['provider_rate_limited', 'provider_overloaded', 'provider_server_error', 'provider_network_error', 'provider_timeout', 'provider_conflict', 'service_unavailable']);

/**
 * The gateway answers in OpenAI's format, so the OpenAI-compatible adapter is the client; this
 * restores the gateway's own error code (e.g. `provider_not_configured`) from the error body.
 */
function restoreGatewayError(error: unknown): unknown {
  if (!ProviderError.is(error)) return error;
  const body = error.providerBody as { error?: { code?: unknown; message?: unknown } } | undefined;
  const code = typeof body?.error?.code === 'string' ? body.error.code : undefined;
  const message = typeof body?.error?.message === 'string' ? body.error.message : error.message;
  if (!code || !isErrorCode(code)) return error;
  if (RETRYABLE.has(code)) {
    return new ProviderError({
      code: error.code,
      provider: 'gateway',
      message,
      status: error.status,
      retryable: true,
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
      cause: error,
    });
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
        doEmbed: (opts) => model.doEmbed(opts).catch((e: unknown) => Promise.reject(restoreGatewayError(e))),
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
    rerankingModel(name) {
      throw new AppError('model_capability_unsupported', `Reranking through the gateway is not available yet (asked for "${name}").`);
    },
  };
}
