import type { GatewayCallContext, GatewayModels } from '@quire/gateway-client';
import type { EmbeddingModelV1 } from '@quire/models';
import { fakeEmbedding } from '@quire/fakes';

export interface EmbedCall {
  model: string;
  context: GatewayCallContext;
  values: string[];
  /** The call's abort signal, when the caller gave one. */
  signal?: AbortSignal;
}

/**
 * The gateway as ingestion sees it, served in-process by the fakes' embedding (hashed bag of words,
 * L2-normalised: similar texts get similar vectors without any provider). Records every call; `failures` are thrown first, in order.
 * Like the HTTP client, a call whose abort signal fires stops at once, rejecting with the signal's reason.
 */
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

export function createFakeGatewayModels(options: { dimensions?: number; maxEmbeddingsPerCall?: number; latencyMs?: number } = {}) {
  const dimensions = options.dimensions ?? 32;
  const calls: EmbedCall[] = [];
  const failures: unknown[] = [];
  const models: GatewayModels = {
    embeddingModel(name, context): EmbeddingModelV1 {
      return {
        specificationVersion: 'v1',
        provider: name.split('/')[0] ?? 'fake',
        modelId: name,
        maxEmbeddingsPerCall: options.maxEmbeddingsPerCall ?? 4,
        async doEmbed({ values, dimensions: asked, abortSignal }) {
          calls.push({ model: name, context, values, ...(abortSignal ? { signal: abortSignal } : {}) });
          abortSignal?.throwIfAborted();
          if (options.latencyMs) await abortableDelay(options.latencyMs, abortSignal);
          if (failures.length > 0) throw failures.shift();
          return {
            // Honours a requested dimension, like text-embedding-3 models do.
            embeddings: values.map((v) => fakeEmbedding(v, asked ?? dimensions)),
            usage: { inputTokens: values.join(' ').split(/\s+/).length, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true },
          };
        },
      };
    },
    generationModel() {
      throw new Error('the fake gateway serves embeddings only');
    },
    rerankingModel() {
      throw new Error('the fake gateway serves embeddings only');
    },
  };
  const embed = (text: string, dims = dimensions): number[] => fakeEmbedding(text, dims);
  return { models, calls, failures, embed };
}
