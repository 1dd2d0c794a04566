/**
 * Ranking metrics for one question, as trec_eval / pytrec_eval compute them. `ranked` is the
 * retrieved ids best first (already de-duplicated); `qrels` maps relevant ids to their grade
 * (> 0 relevant; 0 or less counts as not relevant). Every function is pure.
 */
export type Qrels = ReadonlyMap<string, number>;

const relevant = (qrels: Qrels, id: string) => (qrels.get(id) ?? 0) > 0;
const relevantCount = (qrels: Qrels) => [...qrels.values()].filter((g) => g > 0).length;

/** Fraction of the relevant ids found in the top k (0 when nothing is relevant). */
export function recallAt(ranked: readonly string[], qrels: Qrels, k: number): number {
  const total = relevantCount(qrels);
  if (total === 0) return 0;
  return ranked.slice(0, k).filter((id) => relevant(qrels, id)).length / total;
}

/** Relevant ids in the top k divided by k (trec_eval's P_k: a short list is not rewarded). */
export function precisionAt(ranked: readonly string[], qrels: Qrels, k: number): number {
  if (k <= 0) return 0;
  return ranked.slice(0, k).filter((id) => relevant(qrels, id)).length / k;
}

/** 1 / rank of the first relevant id (0 when none is retrieved). */
export function reciprocalRank(ranked: readonly string[], qrels: Qrels, k = Infinity): number {
  const limit = Math.min(k, ranked.length);
  for (let i = 0; i < limit; i++) if (relevant(qrels, ranked[i]!)) return 1 / (i + 1);
  return 0;
}

/** 1 when any relevant id is in the top k. */
export function hitAt(ranked: readonly string[], qrels: Qrels, k: number): number {
  return ranked.slice(0, k).some((id) => relevant(qrels, id)) ? 1 : 0;
}

/**
 * nDCG@k with graded relevance, trec_eval's `ndcg_cut`: gain = grade (linear, not 2^grade - 1),
 * discount log2(rank + 1) with ranks from 1; the ideal ranking sorts every judged grade
 * descending and is cut at k as well.
 */
export function ndcgAt(ranked: readonly string[], qrels: Qrels, k: number): number {
  let dcg = 0;
  ranked.slice(0, k).forEach((id, i) => {
    const gain = Math.max(0, qrels.get(id) ?? 0);
    if (gain > 0) dcg += gain / Math.log2(i + 2);
  });
  const ideal = [...qrels.values()].filter((g) => g > 0).sort((a, b) => b - a).slice(0, k);
  const idcg = ideal.reduce((sum, g, i) => sum + g / Math.log2(i + 2), 0);
  return idcg === 0 ? 0 : dcg / idcg;
}

/** Keeps the first occurrence of each id (chunks of one document collapse to the document). */
export function dedupe(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => (seen.has(id) ? false : (seen.add(id), true)));
}

/** Whether any judged id is relevant (grade > 0). */
export const hasRelevant = (qrels: Qrels): boolean => relevantCount(qrels) > 0;

/**
 * The cut-offs every configuration reports whatever its `top_k`, so two configurations always share
 * their keys (`recall@10` on both sides) and compare pair by pair.
 */
export const RETRIEVAL_CUTOFFS: readonly number[] = [5, 10];

/**
 * The retrieval metrics Quire reports per question, keyed as in the tables: nDCG@10 and MRR, and
 * recall, precision and hit at every standard cut-off, plus at `topK` when it is not one of them.
 * `ranked` is what the configuration returned (its top_k): a configuration that returns 5 results
 * has nothing at ranks 6 to 10, as a trec_eval run of 5 documents would not, so its @10 figures say
 * what those 5 found (precision@10 still divides by 10). Callers leave out questions with nothing
 * relevant (`hasRelevant`), as trec_eval does: every metric would be 0 for any ranking.
 */
export function retrievalMetrics(ranked: readonly string[], qrels: Qrels, topK?: number): Record<string, number> {
  const cutoffs = [...new Set([...RETRIEVAL_CUTOFFS, ...(topK ? [topK] : [])])].sort((a, b) => a - b);
  const out: Record<string, number> = { 'ndcg@10': ndcgAt(ranked, qrels, 10), mrr: reciprocalRank(ranked, qrels) };
  for (const k of cutoffs) {
    out[`recall@${k}`] = recallAt(ranked, qrels, k);
    out[`precision@${k}`] = precisionAt(ranked, qrels, k);
    out[`hit@${k}`] = hitAt(ranked, qrels, k);
  }
  return out;
}

export const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Percentile with linear interpolation between closest ranks (numpy's default), p in [0, 100]. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
