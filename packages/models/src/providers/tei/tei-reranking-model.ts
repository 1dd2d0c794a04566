import { z } from 'zod';
import type { RerankOptionsV1, RerankResultV1, RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { readJson } from '../shared/http.js';
import { postToProvider } from '../shared/http-provider.js';
import { asTeiError, teiUsage } from './tei-error.js';
import type { TeiConfig } from './tei-provider.js';

const responseSchema = z.array(z.object({ index: z.number(), score: z.number() }));

export class TeiRerankingModel implements RerankingModelV1 {
  readonly specificationVersion = 'v1' as const;
  /** TEI reports x-compute-tokens. */
  readonly billedIn = 'tokens' as const;
  readonly provider: string;
  readonly maxDocumentsPerCall: number;

  constructor(
    readonly modelId: string,
    private readonly config: TeiConfig,
  ) {
    this.provider = config.provider;
    this.maxDocumentsPerCall = config.maxBatchSize;
  }

  async doRerank(options: RerankOptionsV1): Promise<RerankResultV1> {
    if (options.documents.length === 0) return { results: [], usage: emptyUsage(true) };
    const body = { query: options.query, texts: options.documents, raw_scores: false, return_text: false, truncate: false };
    const result = await postToProvider(this.config, 'rerank', body, options, asTeiError);
    const scores = await readJson(this.provider, result, responseSchema, options.abortSignal);
    // TEI has no top_n: it scores everything, and we cut here.
    const sorted = scores.map((r) => ({ index: r.index, relevanceScore: r.score })).sort((a, b) => b.relevanceScore - a.relevanceScore);
    const results = options.topN !== undefined ? sorted.slice(0, options.topN) : sorted;
    return { results, usage: teiUsage(result.response.headers), requestId: result.requestId };
  }
}
