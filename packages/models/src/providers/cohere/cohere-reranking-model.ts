import { z } from 'zod';
import type { RerankOptionsV1, RerankResultV1, RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { readJson } from '../shared/http.js';
import { postToProvider } from '../shared/http-provider.js';
import { rankedByRelevance } from '../shared/rerank-results.js';
import { cohereMetaSchema } from './cohere-embedding-model.js';
import type { CohereConfig } from './cohere-provider.js';

/** Cohere recommends at most 1,000 documents per rerank call. */
export const COHERE_MAX_DOCUMENTS_PER_CALL = 1000;

const rerankResponseSchema = z.object({
  id: z.string().nullish(),
  results: z.array(z.object({ index: z.number(), relevance_score: z.number() })),
  meta: cohereMetaSchema,
});

export class CohereRerankingModel implements RerankingModelV1 {
  readonly specificationVersion = 'v1' as const;
  /** Cohere reports search units, no tokens. */
  readonly billedIn = 'searchUnits' as const;
  readonly provider: string;
  readonly maxDocumentsPerCall = COHERE_MAX_DOCUMENTS_PER_CALL;

  constructor(
    readonly modelId: string,
    private readonly config: CohereConfig,
  ) {
    this.provider = config.provider;
  }

  async doRerank(options: RerankOptionsV1): Promise<RerankResultV1> {
    if (options.documents.length === 0) return { results: [], usage: emptyUsage(true) };
    const result = await postToProvider(this.config, 'v2/rerank', {
      model: this.modelId,
      query: options.query,
      documents: options.documents,
      ...(options.topN !== undefined && { top_n: options.topN }),
    }, options);
    const body = await readJson(this.provider, result, rerankResponseSchema, options.abortSignal);
    const units = body.meta?.billed_units?.search_units;
    // Billed in search units, not tokens (providers.md §6.2).
    const usage = units !== null && units !== undefined ? { ...emptyUsage(true), searchUnits: units } : emptyUsage(false);
    return { results: rankedByRelevance(body.results), usage, requestId: result.requestId ?? body.id ?? undefined };
  }
}
