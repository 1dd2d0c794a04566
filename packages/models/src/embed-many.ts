import { embeddingBatchLimitsOf, estimateEmbeddingTokens, planEmbeddingBatches } from './embedding-batches.js';
import { ProviderError } from './errors/provider-error.js';
import type { EmbeddingModelV1, EmbedOptionsV1 } from './spec/embedding/embedding-model-v1.js';
import { emptyUsage, type UsageV1 } from './spec/usage.js';

export interface EmbedManyOptions extends Omit<EmbedOptionsV1, 'values'> {
  /** Concurrent provider calls (default 4). */
  maxParallelCalls?: number;
  /** Retries per batch for retryable ProviderErrors (default 2). */
  maxRetries?: number;
  /** First backoff delay when the provider gave no retry-after (default 500 ms, doubled per attempt). */
  initialRetryDelayMs?: number;
}

export interface EmbedManyResult {
  embeddings: number[][];
  /** Summed over batches; `reported` only if every batch reported usage. */
  usage: UsageV1;
  /** One entry per provider call that succeeded, in batch order. */
  responses: { requestId?: string; responseModelId?: string }[];
}

export function addUsage(a: UsageV1, b: UsageV1): UsageV1 {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    cacheWriteInputTokens: a.cacheWriteInputTokens + b.cacheWriteInputTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    searchUnits: a.searchUnits + b.searchUnits,
    reported: a.reported && b.reported,
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Embeds any number of values: splits into batches within `model.maxEmbeddingsPerCall` and, where
 * the model declares it, `maxTokensPerCall` (tokens estimated from UTF-8 bytes, see
 * embedding-batches.ts), runs at most `maxParallelCalls` at once, retries retryable provider errors
 * (honouring `retryAfterMs`), and returns vectors in input order. The first non-retryable failure
 * stops further batches and is thrown.
 */
export async function embedMany(model: EmbeddingModelV1, values: string[], options: EmbedManyOptions = {}): Promise<EmbedManyResult> {
  const { maxParallelCalls = 4, maxRetries = 2, initialRetryDelayMs = 500, ...callOptions } = options;
  const batches = planEmbeddingBatches(values.map(estimateEmbeddingTokens), embeddingBatchLimitsOf(model)).map(([start, end]) => values.slice(start, end));

  const results: Awaited<ReturnType<EmbeddingModelV1['doEmbed']>>[] = new Array(batches.length);
  let next = 0;
  let failed = false;

  const runBatch = async (index: number) => {
    for (let attempt = 0; ; attempt++) {
      try {
        results[index] = await model.doEmbed({ ...callOptions, values: batches[index] ?? [] });
        return;
      } catch (error) {
        if (failed || !ProviderError.is(error) || !error.retryable || attempt >= maxRetries) throw error;
        await sleep(error.retryAfterMs ?? initialRetryDelayMs * 2 ** attempt, callOptions.abortSignal);
      }
    }
  };

  const worker = async () => {
    while (!failed && next < batches.length) {
      const index = next++;
      try {
        await runBatch(index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };

  const workers = Array.from({ length: Math.min(Math.max(1, maxParallelCalls), batches.length) }, worker);
  const settled = await Promise.allSettled(workers);
  const rejection = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejection) throw rejection.reason;

  const embeddings: number[][] = [];
  let usage = emptyUsage(true);
  for (const result of results) {
    embeddings.push(...result.embeddings);
    usage = addUsage(usage, result.usage);
  }
  if (embeddings.length !== values.length) {
    throw new Error(`embedMany: expected ${values.length} embeddings, got ${embeddings.length}`);
  }
  return {
    embeddings,
    usage,
    responses: results.map((r) => ({ requestId: r.requestId, responseModelId: r.responseModelId })),
  };
}
