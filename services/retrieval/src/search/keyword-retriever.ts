import type { SearchFilters } from '@quire/contracts';
import type { Queryable } from '@quire/db';
import type { AnalyzerName, Bm25Params } from '@quire/keyword-index';
import type { RankedHit } from './rrf.js';
import { scopeConditions, type SqlFragment } from './scope-sql.js';

export interface KeywordSearchOptions {
  /** The collection's BM25 parameters and analyser; retrievers without them ignore these. */
  bm25?: Bm25Params;
  analyzer?: AnalyzerName;
  maxPostingsPerTerm?: number;
}

/** The keyword leg: BM25 (`bm25-retriever.ts`, the default) or the older ts_rank_cd one below. */
export interface KeywordRetriever {
  search(collectionId: string, query: string, limit: number, filters?: SearchFilters, options?: KeywordSearchOptions): Promise<RankedHit[]>;
}

/** Postgres full-text search over `chunks.tsv` (GIN `chunks_tsv_idx`), ranked by ts_rank_cd. */
export function keywordQuery(collectionId: string, query: string, limit: number, filters?: SearchFilters): SqlFragment {
  const scope = scopeConditions(collectionId, filters, 3);
  return {
    sql: `SELECT c.id AS chunk_id, ts_rank_cd(c.tsv, q.query)::float8 AS score
FROM websearch_to_tsquery('english', $1) AS q(query)
JOIN chunks c ON c.tsv @@ q.query
JOIN documents d ON d.id = c.document_id
WHERE ${scope.sql}
ORDER BY score DESC, c.id
LIMIT $2`,
    params: [query, limit, ...scope.params],
  };
}

export function createTsvectorKeywordRetriever(db: Queryable): KeywordRetriever {
  return {
    async search(collectionId, query, limit, filters) {
      const { sql, params } = keywordQuery(collectionId, query, limit, filters);
      const result = await db.query<{ chunk_id: string; score: number }>(sql, params);
      return result.rows.map((r) => ({ chunkId: r.chunk_id, score: Number(r.score) }));
    },
  };
}
