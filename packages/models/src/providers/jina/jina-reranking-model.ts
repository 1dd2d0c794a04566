import { z } from 'zod';
import type { RerankOptionsV1, RerankResultV1, RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { readJson } from '../shared/http.js';
import { postToProvider } from '../shared/http-provider.js';
import { rankedByRelevance } from '../shared/rerank-results.js';
import { tokenUsage } from '../shared/token-usage.js';
import { asJinaError } from './jina-error.js';
import type { JinaConfig } from './jina-provider.js';

/** Not documented by Jina; a conservative cap that callers split by (Jina bills tokens, not calls). */
export const JINA_MAX_DOCUMENTS_PER_CALL = 1000;

const responseSchema = z.object({
  model: z.string().nullish(),
  results: z.array(z.object({ index: z.number(), relevance_score: z.number() })),
  usage: z.object({ total_tokens: z.number().nullish() }).nullish(),
});

export class JinaRerankingModel implements RerankingModelV1 {
  readonly specificationVersion = 'v1' as const;
  /** Jina reports total_tokens. */
  readonly billedIn = 'tokens' as const;
  readonly provider: string;
  readonly maxDocumentsPerCall = JINA_MAX_DOCUMENTS_PER_CALL;

  constructor(
    readonly modelId: string,
    private readonly config: JinaConfig,
  ) {
    this.provider = config.provider;
  }

  async doRerank(options: RerankOptionsV1): Promise<RerankResultV1> {
    if (options.documents.length === 0) return { results: [], usage: emptyUsage(true) };
    const result = await postToProvider(this.config, 'rerank', {
      model: this.modelId,
      query: options.query,
      documents: options.documents,
      return_documents: false,
      ...(options.topN !== undefined && { top_n: options.topN }),
    }, options, asJinaError);
    const body = await readJson(this.provider, result, responseSchema, options.abortSignal);
    return { results: rankedByRelevance(body.results), usage: tokenUsage(body.usage?.total_tokens), requestId: result.requestId, responseModelId: body.model ?? undefined };
  }
}
