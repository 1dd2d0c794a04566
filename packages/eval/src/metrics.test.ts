import { dedupe, hasRelevant, hitAt, ndcgAt, percentile, precisionAt, recallAt, reciprocalRank, retrievalMetrics } from './metrics.js';

const qrels = new Map([
  ['d2', 1],
  ['d4', 1],
  ['d9', 1],
]);
const ranked = ['d1', 'd2', 'd3', 'd4', 'd5'];

describe('ranking metrics (hand-computed)', () => {
  test('recall, precision, MRR and hit rate', () => {
    expect(recallAt(ranked, qrels, 5)).toBeCloseTo(2 / 3, 12);
    expect(recallAt(ranked, qrels, 1)).toBe(0);
    expect(precisionAt(ranked, qrels, 5)).toBeCloseTo(2 / 5, 12);
    // trec_eval's P_10 divides by 10 even when fewer were retrieved.
    expect(precisionAt(ranked, qrels, 10)).toBeCloseTo(2 / 10, 12);
    expect(reciprocalRank(ranked, qrels)).toBe(0.5);
    expect(reciprocalRank(['x', 'y'], qrels)).toBe(0);
    expect(hitAt(ranked, qrels, 1)).toBe(0);
    expect(hitAt(ranked, qrels, 2)).toBe(1);
    expect(recallAt(ranked, new Map(), 5)).toBe(0);
  });

  test('binary nDCG@10: DCG 1/log2(3) + 1/log2(5) over the ideal 1 + 1/log2(3) + 1/log2(4)', () => {
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(5);
    const idcg = 1 + 1 / Math.log2(3) + 1 / Math.log2(4);
    expect(ndcgAt(ranked, qrels, 10)).toBeCloseTo(dcg / idcg, 12);
    expect(ndcgAt(ranked, qrels, 10)).toBeCloseTo(0.49819, 4);
    expect(ndcgAt(['d2', 'd4', 'd9'], qrels, 10)).toBeCloseTo(1, 12);
    expect(ndcgAt([], qrels, 10)).toBe(0);
  });

  test('graded nDCG uses the grade as gain (trec_eval), judged-0 docs add nothing, the ideal is cut at k', () => {
    const graded = new Map([
      ['a', 1],
      ['b', 2],
      ['c', 0],
      ['d', 3],
    ]);
    // ranks 1..3 hold grades 1, 2, 0; the ideal order is 3, 2, 1.
    const dcg = 1 / 1 + 2 / Math.log2(3) + 0;
    const idcg = 3 / 1 + 2 / Math.log2(3) + 1 / Math.log2(4);
    expect(ndcgAt(['a', 'b', 'c'], graded, 3)).toBeCloseTo(dcg / idcg, 12);
    expect(ndcgAt(['a', 'b', 'c'], graded, 3)).toBeCloseTo(0.475, 3);
    // Cut at 1: only the top grade counts in the ideal.
    expect(ndcgAt(['b'], graded, 1)).toBeCloseTo(2 / 3, 12);
    expect(ndcgAt(['d', 'b', 'a'], graded, 3)).toBeCloseTo(1, 12);
  });

  test('dedupe keeps first occurrences; percentile interpolates', () => {
    expect(dedupe(['a', 'b', 'a', 'c', 'b'])).toEqual(['a', 'b', 'c']);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10], 95)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 95)).toBeCloseTo(10.5, 12);
  });

  test('every configuration reports the standard cut-offs whatever its top_k, plus its own', () => {
    const keys = (k: number) => Object.keys(retrievalMetrics(ranked, qrels, k)).sort();
    const standard = ['hit@10', 'hit@5', 'mrr', 'ndcg@10', 'precision@10', 'precision@5', 'recall@10', 'recall@5'];
    expect(keys(5)).toEqual(standard);
    expect(keys(10)).toEqual(standard);
    expect(keys(20)).toEqual([...standard, 'hit@20', 'precision@20', 'recall@20'].sort());
    // A list of 5 scored at 10: what those 5 found, precision still over 10 (trec_eval's P_10 of a short run).
    const five = ['x', 'd2', 'y', 'd4', 'w'];
    const m = retrievalMetrics(five, qrels, 5);
    expect(m['recall@10']).toBe(m['recall@5']);
    expect(m['recall@5']).toBeCloseTo(2 / 3, 12);
    expect(m['precision@10']).toBeCloseTo(2 / 10, 12);
    expect(m['precision@5']).toBeCloseTo(2 / 5, 12);
    expect(m['ndcg@10']).toBe(ndcgAt(five, qrels, 10));
    expect(hasRelevant(new Map([['a', 0]]))).toBe(false);
    expect(hasRelevant(qrels)).toBe(true);
  });
});
