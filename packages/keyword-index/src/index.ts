export { analyze, analyzePrefix, ANALYZER_VERSION, ENGLISH_STOP_WORDS, primaryTokens, type AnalyzeOptions, type AnalyzerName, type Token } from './analyzer.js';
export { porterStem } from './porter-stemmer.js';
export { parseQuery, isEmptyQuery, type ParsedQuery, type PhraseClause } from './query-parser.js';
export {
  analyzerTag,
  buildPostings,
  collectionAnalyzer,
  deletePostings,
  rebuildCollectionPostings,
  writeDocumentPostings,
  writePostings,
  type ChunkText,
} from './postings.js';
export { bm25TermScore, bm25TermWeight, numberArithmetic, sqlArithmetic, sqlExpr, type Arithmetic, type SqlExpr } from './bm25-formula.js';
export { bm25Query, bm25Search, DEFAULT_BM25, type Bm25Hit, type Bm25Params, type Bm25QueryInput, type Bm25SearchOptions, type ScopeBuilder, type SqlFragment } from './bm25-search.js';
