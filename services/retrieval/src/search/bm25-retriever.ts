import type { SearchFilters } from '@quire/contracts';
import type { Queryable } from '@quire/db';
import { bm25Query, bm25Search, DEFAULT_BM25, parseQuery, type Bm25Params } from '@quire/keyword-index';
import { createChunkSetBm25 } from './chunk-set-bm25.js';
import type { KeywordRetriever } from './keyword-retriever.js';
import { hasSelectiveFilters, scopeConditions, type SqlFragment } from './scope-sql.js';

/** The BM25 leg's SQL as reviewers read it (rendered into queries.sql). */
export function bm25KeywordQuery(collectionId: string, query: string, limit: number, filters?: SearchFilters, params: Bm25Params = DEFAULT_BM25, pinnedVersionId?: string): SqlFragment {
  return bm25Query({ collectionId, query: parseQuery(query), limit, params, maxPostingsPerTerm: DEFAULT_POSTINGS_CAP, scope: (first) => scopeConditions(collectionId, filters, first, pinnedVersionId ? { of: pinnedVersionId } : null) });
}

/**
 * Postings read per term, best impact first: exact for any term in fewer chunks than this, and a
 * bound on the work a very common term costs (SciFact: same nDCG@10 as uncapped, see benchmarks).
 */
export const DEFAULT_POSTINGS_CAP = 1000;

/**
 * Okapi BM25 over `@quire/keyword-index`'s postings (written with the chunks by ingestion). The
 * collection's own k1/b come through `options`; filters go inside the statement via the scope. An
 * index version's own chunk set (`options.chunkSetVersionId`) has no postings and is searched by
 * `chunk-set-bm25.ts` with the same scoring.
 */
export function createBm25KeywordRetriever(db: Queryable): KeywordRetriever {
  const chunkSets = createChunkSetBm25(db);
  return {
    async search(collectionId, query, limit, filters, options) {
      if (options?.chunkSetVersionId) {
        return chunkSets.search(collectionId, options.chunkSetVersionId, query, {
          limit,
          ...(options.bm25 ? { params: options.bm25 } : {}),
          ...(options.analyzer ? { analyzer: options.analyzer } : {}),
          ...(filters ? { filters } : {}),
          maxPostingsPerTerm: options.maxPostingsPerTerm ?? DEFAULT_POSTINGS_CAP,
        });
      }
      return bm25Search(db, collectionId, query, {
        limit,
        ...(options?.bm25 ? { params: options.bm25 } : {}),
        ...(options?.analyzer ? { analyzer: options.analyzer } : {}),
        scope: (first) => scopeConditions(collectionId, filters, first, options?.pinnedVersionId ? { of: options.pinnedVersionId } : null),
        scopeRarelyExcludes: !hasSelectiveFilters(filters),
        maxPostingsPerTerm: options?.maxPostingsPerTerm ?? DEFAULT_POSTINGS_CAP,
      });
    },
  };
}
