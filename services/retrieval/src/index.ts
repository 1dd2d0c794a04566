export { createRetrievalService, type RetrievalService, type RetrievalServiceDeps } from './retrieval-service.js';
export { createTsvectorKeywordRetriever, type KeywordRetriever } from './search/keyword-retriever.js';
export { reciprocalRankFusion, RRF_K, type RankedHit, type FusedHit } from './search/rrf.js';
