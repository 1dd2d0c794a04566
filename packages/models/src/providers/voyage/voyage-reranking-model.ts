import { z } from 'zod';
import type { RerankOptionsV1, RerankResultV1, RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { readJson } from '../shared/http.js';
import { postToProvider } from '../shared/http-provider.js';
import { rankedByRelevance } from '../shared/rerank-results.js';
import { tokenUsage } from '../shared/token-usage.js';
import { asVoyageError } from './voyage-error.js';
import type { VoyageConfig } from './voyage-provider.js';

/** Voyage's documented maximum number of documents per rerank request. */
export const VOYAGE_MAX_DOCUMENTS_PER_CALL = 1000;

const responseSchema = z.object({
  model: z.string().nullish(),
  data: z.array(z.object({ index: z.number(), relevance_score: z.number() })),
  usage: z.object({ total_tokens: z.number().nullish() }).nullish(),
});

export class VoyageRerankingModel implements RerankingModelV1 {
  readonly specificationVersion = 'v1' as const;
  /** Voyage reports total_tokens. */
  readonly billedIn = 'tokens' as const;
  readonly provider: string;
  readonly maxDocumentsPerCall = VOYAGE_MAX_DOCUMENTS_PER_CALL;

  constructor(
    readonly modelId: string,
    private readonly config: VoyageConfig,
  ) {
    this.provider = config.provider;
  }

  async doRerank(options: RerankOptionsV1): Promise<RerankResultV1> {
    if (options.documents.length === 0) return { results: [], usage: emptyUsage(true) };
    const result = await postToProvider(this.config, 'rerank', {
      model: this.modelId,
      query: options.query,
      documents: options.documents,
      // Voyage says top_k where Cohere and Jina say top_n.
      ...(options.topN !== undefined && { top_k: options.topN }),
    }, options, asVoyageError);
    const body = await readJson(this.provider, result, responseSchema, options.abortSignal);
    return { results: rankedByRelevance(body.data), usage: tokenUsage(body.usage?.total_tokens), requestId: result.requestId, responseModelId: body.model ?? undefined };
  }
}
