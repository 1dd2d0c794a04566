import { ProviderError } from '../../errors/provider-error.js';
import { badResponse } from './http.js';

/** Adapters take at most `maxEmbeddingsPerCall` values; splitting is embedMany's job, not theirs. */
export function assertEmbeddingBatchSize(provider: string, count: number, maxEmbeddingsPerCall: number): void {
  if (count > maxEmbeddingsPerCall) {
    throw new ProviderError({ code: 'provider_bad_request', provider, message: `Too many values for one embedding call: ${count} > ${maxEmbeddingsPerCall}; use embedMany.` });
  }
}

/** A provider that answers with a different number of vectors than it was sent is a bad response. */
export function assertEmbeddingCount(provider: string, expected: number, received: number, requestId?: string): void {
  if (received !== expected) throw badResponse(provider, `expected ${expected} embeddings, got ${received}.`, requestId);
}

/** OpenAI-style `data` items carry an optional `index`; vectors come back in input order either way. */
export function embeddingsInInputOrder(data: readonly { index?: number | null; embedding: number[] }[]): number[][] {
  return data
    .map((item, position) => ({ index: item.index ?? position, embedding: item.embedding }))
    .sort((a, b) => a.index - b.index)
    .map((item) => item.embedding);
}
