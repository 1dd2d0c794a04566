import { dedupe, hitAt, ndcgAt, percentile, precisionAt, recallAt, reciprocalRank, retrievalMetrics } from './metrics.js';

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
    expect(Object.keys(retrievalMetrics(ranked, qrels, 5))).toEqual(['ndcg@10', 'recall@5', 'precision@5', 'mrr', 'hit@5']);
  });
});
