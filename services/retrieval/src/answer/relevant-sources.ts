import type { RetrievedChunk } from '../search/search-pipeline.js';

/**
 * A rerank score below this says the chunk has nothing to do with the question. The rerankers Quire
 * calls all put unrelated text near zero: Cohere, Voyage and cross-encoders (TEI, local) score a
 * probability in [0, 1], where 0.01 is a logit of -4.6, well on the "other subject" side of ms-marco
 * and bge rerankers (whose makers suggest 0 as a rough boundary); Jina's v3 scores a cosine, where 0.01
 * is all but orthogonal. A constant, not a collection setting: search settings are a contract of
 * `@quire/contracts`, and one floor serves every reranker above.
 */
export const RERANK_RELEVANCE_FLOOR = 0.01;

/**
 * Below the floor a chunk still counts when its score is within this factor of the best one's, so
 * a reranker whose scores run low (its best at 0.03) keeps the chunks near its best.
 */
export const RERANK_NEAR_BEST = 0.1;

/**
 * The chunks worth putting in the answer prompt, in the order given: retrieval fills `top_k` whether
 * or not that many chunks bear on the question, and a source of no relevance only invites the model
 * to answer from it. Each chunk is judged by the strongest signal it carries:
 *
 * - A rerank score (the collection has a rerank model): dropped when below RERANK_RELEVANCE_FLOOR
 *   and more than ten times below the best score; when even the best is below the floor, the
 *   reranker found nothing relevant and every chunk goes.
 * - No rerank score: fused scores are reciprocal ranks (where a chunk placed, not how well it
 *   matches), and cosine similarity runs on a different range for each embedding model, so neither
 *   has a principled threshold. Only a chunk that carries no evidence at all is dropped: the keyword
 *   leg did not match it (in vector mode none ran) and its embedding is at or below orthogonal to
 *   the query's (cosine <= 0). Such a chunk came in only because the vector leg always returns its
 *   nearest neighbours, however far.
 *
 * An empty result means no source: the caller answers as it does when nothing was found.
 */
export function relevantSources(chunks: RetrievedChunk[]): RetrievedChunk[] {
  const reranked = chunks.flatMap((c) => (c.scores.rerank === undefined ? [] : [c.scores.rerank]));
  const best = reranked.length > 0 ? Math.max(...reranked) : undefined;
  return chunks.filter((chunk) => carriesRelevance(chunk, best));
}

function carriesRelevance(chunk: RetrievedChunk, bestRerank: number | undefined): boolean {
  const { rerank, keyword, vector } = chunk.scores;
  if (rerank !== undefined) {
    if (rerank >= RERANK_RELEVANCE_FLOOR) return true;
    return bestRerank !== undefined && bestRerank >= RERANK_RELEVANCE_FLOOR && rerank >= bestRerank * RERANK_NEAR_BEST;
  }
  if (keyword !== undefined && keyword > 0) return true;
  // A chunk with neither score has nothing to judge it by, so it stays; NaN (a zero vector) is no similarity.
  return vector === undefined || vector > 0;
}
