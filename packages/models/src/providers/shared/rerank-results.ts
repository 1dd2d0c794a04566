import type { RerankResultV1 } from '../../spec/rerank/reranking-model-v1.js';

/** `{ index, relevance_score }` results (Cohere, Jina, Voyage), best first. */
export function rankedByRelevance(results: readonly { index: number; relevance_score: number }[]): RerankResultV1['results'] {
  return results.map((r) => ({ index: r.index, relevanceScore: r.relevance_score })).sort((a, b) => b.relevanceScore - a.relevanceScore);
}
