import type { CallOptionsV1, ResponseMetaV1 } from '../call-options.js';
import type { UsageV1 } from '../usage.js';

export interface RerankOptionsV1 extends CallOptionsV1 {
  query: string;
  documents: string[];
  topN?: number;
}

export interface RerankResultV1 extends ResponseMetaV1 {
  /** Sorted by relevance, best first; `index` points into the input documents. */
  results: { index: number; relevanceScore: number }[];
  usage: UsageV1;
}

/** The unit a reranking model's usage is reported (and billed) in. */
export type RerankBillingV1 = 'tokens' | 'searchUnits';

export interface RerankingModelV1 {
  readonly specificationVersion: 'v1';
  readonly provider: string;
  readonly modelId: string;
  readonly maxDocumentsPerCall: number;
  /**
   * What the usage this model reports counts, and so what its price must have for a call to be
   * priced: `searchUnits` (Cohere: a `searchUnit` price) or `tokens` (Voyage, Jina, TEI, local:
   * `input`/`output` per million tokens). Every adapter says which: budgets price a rerank call by it.
   */
  readonly billedIn: RerankBillingV1;
  doRerank(options: RerankOptionsV1): Promise<RerankResultV1>;
}
