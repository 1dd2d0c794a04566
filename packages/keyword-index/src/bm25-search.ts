import type { Queryable } from '@quire/db';
import type { AnalyzerName } from './analyzer.js';
import { bm25TermScore, bm25TermWeight, sqlArithmetic, sqlExpr } from './bm25-formula.js';
import { collectionAnalyzer } from './postings.js';
import { isEmptyQuery, parseQuery, type ParsedQuery } from './query-parser.js';

export interface Bm25Params {
  /** Term-frequency saturation (Anserini's default 0.9). */
  k1: number;
  /** Length normalisation (Anserini's default 0.4). */
  b: number;
}

export const DEFAULT_BM25: Bm25Params = { k1: 0.9, b: 0.4 };

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/**
 * Extra WHERE conditions over `c` (chunks) and `d` (documents), numbered from `firstParam`: how the
 * caller puts its filters inside the query, so a filtered search still fills the limit.
 */
export type ScopeBuilder = (firstParam: number) => SqlFragment;

export interface Bm25QueryInput {
  collectionId: string;
  query: ParsedQuery;
  limit: number;
  params?: Bm25Params;
  scope?: ScopeBuilder;
  /** How many collection terms one `prefix*` expands to (the most frequent first). */
  maxPrefixExpansions?: number;
  /**
   * Rank before the scope join and check only this many best chunks against it (the scope then
   * only drops the rare chunk of a document being re-indexed). Without it every scored chunk is
   * joined: right for selective filters, slow for common terms. Rows carry `candidates` so the
   * caller can tell when the cut may have dropped results.
   */
  prefilterLimit?: number;
  /**
   * Read at most this many postings per term, best impact first (the term index's order). Exact
   * for every term with df <= the cap; a very common term (low IDF) then only adds its best
   * chunks as candidates. Ignored for phrase queries, which need every posting.
   */
  maxPostingsPerTerm?: number;
}

export interface Bm25Hit {
  chunkId: string;
  score: number;
}

function checkParams(p: Bm25Params): Bm25Params {
  if (!(p.k1 >= 0 && p.k1 <= 3) || !(p.b >= 0 && p.b <= 1)) throw new Error(`bad BM25 parameters k1=${p.k1} b=${p.b}`);
  return p;
}

function phraseSql(phrase: ParsedQuery['phrases'][number], params: unknown[]): string {
  const ref = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const joins: string[] = [];
  const checks: string[] = [];
  phrase.terms.forEach((term, i) => {
    if (i === 0) return;
    joins.push(`JOIN bm25_postings p${i} ON p${i}.collection_id = $1 AND p${i}.term = ${ref(term)} AND p${i}.chunk_id = p0.chunk_id`);
    // Offsets are small integers computed by the parser, never user text.
    checks.push(`x.pos + ${Math.trunc(phrase.offsets[i]!)} = ANY(p${i}.positions)`);
  });
  return `SELECT p0.chunk_id FROM bm25_postings p0
    ${joins.join('\n    ')}
    WHERE p0.collection_id = $1 AND p0.term = ${ref(phrase.terms[0])}
      AND EXISTS (SELECT 1 FROM unnest(p0.positions) AS x(pos) WHERE ${checks.join(' AND ')})`;
}

/** The formula's two steps as SQL over the query's columns and the k1, b parameters ($5, $6). */
const WEIGHT_SQL = bm25TermWeight(sqlArithmetic, { qtf: sqlExpr('q.qtf'), n: sqlExpr('s.n'), df: sqlExpr('t.df') }).sql;
const SCORE_SQL = bm25TermScore(sqlArithmetic, {
  weight: sqlExpr('w.weight'),
  tf: sqlExpr('p.tf'),
  dl: sqlExpr('p.doc_length'),
  avgdl: sqlExpr('w.avgdl'),
  k1: sqlExpr('$5::float8'),
  b: sqlExpr('$6::float8'),
}).sql;

/**
 * Okapi BM25 (`bm25-formula.ts`) in one statement, with N, avgdl and df read from the statistics
 * tables the writer keeps, so nothing is counted at query time.
 */
export function bm25Query(input: Bm25QueryInput): SqlFragment {
  const { k1, b } = checkParams(input.params ?? DEFAULT_BM25);
  const q = input.query;
  const params: unknown[] = [input.collectionId, [...q.terms.keys()], [...q.terms.values()], q.prefixes, k1, b, input.limit, input.maxPrefixExpansions ?? 32];
  const cap = input.maxPostingsPerTerm && q.phrases.length === 0 ? String(Math.trunc(input.maxPostingsPerTerm)) : 'ALL';
  const phraseFilters = q.phrases.map((p) => `AND p.chunk_id IN (${phraseSql(p, params)})`).join('\n  ');
  const scope = input.scope?.(params.length + 1);
  if (scope) params.push(...scope.params);
  const sql = `WITH s AS (
  SELECT doc_count::float8 AS n, total_length::float8 / GREATEST(doc_count, 1) AS avgdl
  FROM bm25_collection_stats WHERE collection_id = $1
), q AS (
  SELECT a.term, sum(a.qtf)::float8 AS qtf FROM (
    SELECT u.term, u.qtf FROM unnest($2::text[], $3::float8[]) AS u(term, qtf)
    UNION ALL
    SELECT x.term, 1 FROM unnest($4::text[]) AS pr(prefix)
    CROSS JOIN LATERAL (
      SELECT t.term FROM bm25_terms t
      WHERE t.collection_id = $1 AND t.term >= pr.prefix AND t.term < pr.prefix || chr(1114111)
      ORDER BY t.df DESC, t.term LIMIT $8
    ) x
  ) a GROUP BY a.term
), w AS (
  SELECT t.term, ${WEIGHT_SQL} AS weight, s.avgdl
  FROM q JOIN bm25_terms t ON t.collection_id = $1 AND t.term = q.term CROSS JOIN s
), scored AS (
  SELECT p.chunk_id, sum(${SCORE_SQL}) AS score
  FROM w CROSS JOIN LATERAL (
    SELECT p.chunk_id, p.tf, p.doc_length FROM bm25_postings p
    WHERE p.collection_id = $1 AND p.term = w.term
    ORDER BY p.tf DESC, p.doc_length
    LIMIT ${cap}
  ) p
  WHERE true
  ${phraseFilters}
  GROUP BY p.chunk_id
)
${
    input.prefilterLimit
      ? `, top AS (
  SELECT sc.chunk_id, sc.score, count(*) OVER () AS candidates FROM scored sc ORDER BY sc.score DESC, sc.chunk_id LIMIT ${Math.trunc(input.prefilterLimit)}
)
SELECT sc.chunk_id, sc.score::float8 AS score, sc.candidates::int AS candidates
FROM top sc`
      : `SELECT sc.chunk_id, sc.score::float8 AS score
FROM scored sc`
  }
${scope ? `JOIN chunks c ON c.id = sc.chunk_id\nJOIN documents d ON d.id = c.document_id\nWHERE ${scope.sql}\n` : ''}ORDER BY sc.score DESC, sc.chunk_id
LIMIT $7`;
  return { sql, params };
}

export interface Bm25SearchOptions {
  limit: number;
  params?: Bm25Params;
  scope?: ScopeBuilder;
  analyzer?: AnalyzerName;
  /** The scope is the collection's default one (no caller filters): rank first, then check it. */
  scopeRarelyExcludes?: boolean;
  /** See `Bm25QueryInput.maxPostingsPerTerm`; undefined scores every posting (exact). */
  maxPostingsPerTerm?: number;
}

/** Parses `query` with the collection's analyser and returns the best chunks, best first. */
export async function bm25Search(db: Queryable, collectionId: string, query: string, options: Bm25SearchOptions): Promise<Bm25Hit[]> {
  const analyzer = options.analyzer ?? (await collectionAnalyzer(db, collectionId));
  const parsed = parseQuery(query, analyzer);
  if (isEmptyQuery(parsed)) return [];
  const base: Bm25QueryInput = {
    collectionId,
    query: parsed,
    limit: options.limit,
    ...(options.params ? { params: options.params } : {}),
    ...(options.scope ? { scope: options.scope } : {}),
    ...(options.maxPostingsPerTerm ? { maxPostingsPerTerm: options.maxPostingsPerTerm } : {}),
  };
  const toHits = (rows: { chunk_id: string; score: number }[]) => rows.map((row) => ({ chunkId: row.chunk_id, score: Number(row.score) }));
  if (options.scope && options.scopeRarelyExcludes) {
    const prefilterLimit = options.limit * 2 + 20;
    const fast = bm25Query({ ...base, prefilterLimit });
    const r = await db.query<{ chunk_id: string; score: number; candidates: number }>(fast.sql, fast.params);
    // Only when the scope dropped some of the pre-cut and more candidates existed is the slow path needed.
    const more = r.rows.length < options.limit && (r.rows.length === 0 || Number(r.rows[0]!.candidates) > prefilterLimit);
    if (!more) return toHits(r.rows);
  }
  const { sql, params } = bm25Query(base);
  return toHits((await db.query<{ chunk_id: string; score: number }>(sql, params)).rows);
}
