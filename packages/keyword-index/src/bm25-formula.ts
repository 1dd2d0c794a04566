/**
 * Okapi BM25, written once over an arithmetic: `bm25Query` evaluates it as SQL over the postings
 * tables, the chunk-set index of an unactivated version evaluates it over numbers in memory. Both
 * build the same expression tree, so they apply the same operations in the same order and score
 * alike by construction, down to floating-point rounding.
 *
 * score(q, d) = Σ_t weight(t) · tf·(k1 + 1) / (tf + k1·(1 − b + b·|d|/avgdl)),
 * weight(t) = qtf · ln(1 + (N − df + 0.5)/(df + 0.5)).
 */
export interface Arithmetic<T> {
  num(value: number): T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  ln(a: T): T;
}

export const numberArithmetic: Arithmetic<number> = {
  num: (v) => v,
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  ln: Math.log,
};

/** SQL text with the precedence of its outermost operator, so it is parenthesised only where evaluation order needs it. */
export interface SqlExpr {
  sql: string;
  precedence: number;
}

const ADDITIVE = 1;
const MULTIPLICATIVE = 2;
const ATOM = 3;

/** A column, parameter or cast (`p.tf`, `$5::float8`): binds tighter than any arithmetic operator. */
export function sqlExpr(sql: string): SqlExpr {
  return { sql, precedence: ATOM };
}

function binary(op: string, precedence: number): (a: SqlExpr, b: SqlExpr) => SqlExpr {
  const wrap = (e: SqlExpr, needed: boolean) => (needed ? `(${e.sql})` : e.sql);
  // Operators associate to the left; a right operand of equal precedence keeps its parentheses, as a + (b + c) may round otherwise than a + b + c.
  return (a, b) => ({ sql: `${wrap(a, a.precedence < precedence)} ${op} ${wrap(b, b.precedence <= precedence)}`, precedence });
}

export const sqlArithmetic: Arithmetic<SqlExpr> = {
  num: (v) => {
    if (!Number.isFinite(v)) throw new Error(`not a finite SQL number: ${v}`);
    return sqlExpr(v < 0 ? `(${v})` : String(v));
  },
  add: binary('+', ADDITIVE),
  sub: binary('-', ADDITIVE),
  mul: binary('*', MULTIPLICATIVE),
  div: binary('/', MULTIPLICATIVE),
  ln: (a) => sqlExpr(`ln(${a.sql})`),
};

/** A query term's weight: its query frequency (prefix expansions included) times its IDF. */
export function bm25TermWeight<T>(m: Arithmetic<T>, t: { qtf: T; n: T; df: T }): T {
  const half = m.num(0.5);
  return m.mul(t.qtf, m.ln(m.add(m.num(1), m.div(m.add(m.sub(t.n, t.df), half), m.add(t.df, half)))));
}

/** One term's contribution to a chunk's score: `weight` from `bm25TermWeight`, `dl` the chunk's length in tokens. */
export function bm25TermScore<T>(m: Arithmetic<T>, t: { weight: T; tf: T; dl: T; avgdl: T; k1: T; b: T }): T {
  const lengthNorm = m.add(m.sub(m.num(1), t.b), m.div(m.mul(t.b, t.dl), t.avgdl));
  return m.div(m.mul(m.mul(t.weight, t.tf), m.add(t.k1, m.num(1))), m.add(t.tf, m.mul(t.k1, lengthNorm)));
}
