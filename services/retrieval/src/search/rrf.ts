/** One leg's ranking: best first; `score` is that leg's own score (cosine similarity, BM25, ...). */
export interface RankedHit {
  chunkId: string;
  score: number;
}

export interface FusedHit {
  chunkId: string;
  fused: number;
  /** Each leg's own score, for the legs that found the chunk. */
  legScores: Record<string, number>;
}

export const RRF_K = 60;

/**
 * Reciprocal rank fusion: score = Σ weight / (k + rank), rank 1-based. Ranks, not raw scores, are
 * fused because cosine similarity and BM25 live on unrelated scales. Ties break on the chunk
 * id so the same inputs always give the same order.
 */
export function reciprocalRankFusion(legs: Record<string, RankedHit[]>, options: { k?: number; weights?: Record<string, number> } = {}): FusedHit[] {
  const k = options.k ?? RRF_K;
  const fused = new Map<string, FusedHit>();
  for (const [leg, hits] of Object.entries(legs)) {
    const weight = options.weights?.[leg] ?? 1;
    hits.forEach((hit, i) => {
      const entry = fused.get(hit.chunkId) ?? { chunkId: hit.chunkId, fused: 0, legScores: {} };
      // A leg listing a chunk twice only counts its best rank.
      if (entry.legScores[leg] !== undefined) return;
      entry.fused += weight / (k + i + 1);
      entry.legScores[leg] = hit.score;
      fused.set(hit.chunkId, entry);
    });
  }
  return [...fused.values()].sort((a, b) => b.fused - a.fused || (a.chunkId < b.chunkId ? -1 : a.chunkId > b.chunkId ? 1 : 0));
}
