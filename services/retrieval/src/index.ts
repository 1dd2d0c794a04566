export { createRetrievalService, type RetrievalService, type RetrievalServiceDeps } from './retrieval-service.js';
export type { KeywordRetriever } from './search/keyword-retriever.js';
export { reciprocalRankFusion, RRF_K, type RankedHit, type FusedHit } from './search/rrf.js';
export { createBm25KeywordRetriever } from './search/bm25-retriever.js';
export { runSearch, type SearchDeps, type SearchInput, type SearchOutcome } from './search/search-pipeline.js';
export { vectorQuery, vectorSearch, toVectorLiteral } from './search/vector-search.js';
export type { CollectionForQuery } from './collections/collection-repository.js';
export { answerLinkHostsSchema } from './answer/link-hosts-env.js';
export { queryRetentionDaysSchema } from './queries/query-retention.js';
