import { openTestDatabase } from '@quire/db';
import { bm25TermScore, bm25TermWeight, numberArithmetic, sqlArithmetic, sqlExpr } from './bm25-formula.js';

/**
 * A hand-computed example. N = 4 chunks, the term in df = 1 of them, twice in the query (qtf = 2):
 * weight = 2·ln(1 + 3.5/1.5) = 2·ln(10/3). In a chunk of 10 tokens (avgdl 5) holding it tf = 2
 * times, with k1 = 1.2 and b = 0.75: 1 − b + b·10/5 = 1.75, so
 * score = weight·2·2.2 / (2 + 1.2·1.75) = weight·4.4/4.1 = (8.8/4.1)·ln(10/3) ≈ 2.58413675.
 */
const WEIGHT = 2 * Math.log(10 / 3);
const SCORE = (8.8 / 4.1) * Math.log(10 / 3);

test('the term weight is qtf times the IDF ln(1 + (N − df + 0.5)/(df + 0.5))', () => {
  expect(bm25TermWeight(numberArithmetic, { qtf: 2, n: 4, df: 1 })).toBeCloseTo(WEIGHT, 12);
  expect(WEIGHT).toBeCloseTo(2.40794561, 8);
});

test('the term score saturates tf by k1 and normalises the length by b', () => {
  const weight = bm25TermWeight(numberArithmetic, { qtf: 2, n: 4, df: 1 });
  expect(bm25TermScore(numberArithmetic, { weight, tf: 2, dl: 10, avgdl: 5, k1: 1.2, b: 0.75 })).toBeCloseTo(SCORE, 12);
  expect(SCORE).toBeCloseTo(2.58413675, 8);
  // b = 0: the length no longer counts, what is left is weight·tf·(k1 + 1)/(tf + k1).
  for (const dl of [1, 5, 50]) expect(bm25TermScore(numberArithmetic, { weight: 1, tf: 3, dl, avgdl: 5, k1: 0.9, b: 0 })).toBeCloseTo((3 * 1.9) / 3.9, 12);
});

test('the SQL rendering keeps the evaluation order with the fewest parentheses', () => {
  const weight = bm25TermWeight(sqlArithmetic, { qtf: sqlExpr('q.qtf'), n: sqlExpr('s.n'), df: sqlExpr('t.df') });
  expect(weight.sql).toBe('q.qtf * ln(1 + (s.n - t.df + 0.5) / (t.df + 0.5))');
  const score = bm25TermScore(sqlArithmetic, { weight: sqlExpr('w'), tf: sqlExpr('tf'), dl: sqlExpr('dl'), avgdl: sqlExpr('avgdl'), k1: sqlExpr('k1'), b: sqlExpr('b') });
  expect(score.sql).toBe('w * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))');
  // A right operand of equal precedence keeps its parentheses: a − (b − c) is not a − b − c.
  const { sub, div, mul } = sqlArithmetic;
  expect(sub(sqlExpr('a'), sub(sqlExpr('b'), sqlExpr('c'))).sql).toBe('a - (b - c)');
  expect(div(sqlExpr('a'), mul(sqlExpr('b'), sqlExpr('c'))).sql).toBe('a / (b * c)');
  expect(sqlArithmetic.num(-1).sql).toBe('(-1)');
});

test('the SQL evaluates to the numbers of the example', async () => {
  const db = await openTestDatabase();
  try {
    const p = (i: number) => sqlExpr(`$${i}::float8`);
    const weight = bm25TermWeight(sqlArithmetic, { qtf: p(1), n: p(2), df: p(3) });
    const score = bm25TermScore(sqlArithmetic, { weight, tf: p(4), dl: p(5), avgdl: p(6), k1: p(7), b: p(8) });
    const r = await db.query<{ weight: number; score: number }>(`SELECT ${weight.sql} AS weight, ${score.sql} AS score`, [2, 4, 1, 2, 10, 5, 1.2, 0.75]);
    expect(Number(r.rows[0]!.weight)).toBeCloseTo(WEIGHT, 12);
    expect(Number(r.rows[0]!.score)).toBeCloseTo(SCORE, 12);
  } finally {
    await db.close();
  }
});
