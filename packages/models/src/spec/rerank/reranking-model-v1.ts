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

export interface RerankingModelV1 {
  readonly specificationVersion: 'v1';
  readonly provider: string;
  readonly modelId: string;
  readonly maxDocumentsPerCall: number;
  doRerank(options: RerankOptionsV1): Promise<RerankResultV1>;
}
