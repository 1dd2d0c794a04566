import type { SearchFilters } from '@quire/contracts';
import type { AnalyzerName, Bm25Params } from '@quire/keyword-index';
import type { RankedHit } from './rrf.js';

export interface KeywordSearchOptions {
  /** The collection's BM25 parameters and analyser; retrievers without them ignore these. */
  bm25?: Bm25Params;
  analyzer?: AnalyzerName;
  maxPostingsPerTerm?: number;
  /** Search this index version's own chunk set instead of the active one (see `scopeConditions`). */
  chunkSetVersionId?: string | null;
  /**
   * Search the active chunk set only while it is still this version's: a hybrid search pins its
   * keyword leg to the version its vector leg reads (`ChunkSet` `of` in `scopeConditions`).
   */
  pinnedVersionId?: string | null;
}

/** The keyword leg of a search: BM25 over the postings (`bm25-retriever.ts`). */
export interface KeywordRetriever {
  search(collectionId: string, query: string, limit: number, filters?: SearchFilters, options?: KeywordSearchOptions): Promise<RankedHit[]>;
}
