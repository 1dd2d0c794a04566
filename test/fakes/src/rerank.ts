import { cosineSimilarity, fakeEmbedding } from './embedding.js';

/** The fakes' relevance score: cosine similarity of the hashed bag-of-words embeddings (0..1, shared words score higher). */
export function fakeRelevance(query: string, document: string): number {
  return Math.max(0, cosineSimilarity(fakeEmbedding(query), fakeEmbedding(document)));
}

/** Every document scored and sorted best first (ties keep input order), then cut to `topN`. */
export function fakeRank(query: string, documents: string[], topN?: number): { index: number; score: number }[] {
  const ranked = documents.map((doc, index) => ({ index, score: fakeRelevance(query, doc) })).sort((a, b) => b.score - a.score || a.index - b.index);
  return topN === undefined ? ranked : ranked.slice(0, topN);
}
