import { z } from 'zod';
import { ProviderError } from '../../errors/provider-error.js';
import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { badResponse, joinURL, postJson, readJson } from '../shared/http.js';
import { asJinaError } from './jina-error.js';
import type { JinaConfig } from './jina-provider.js';

/** Jina accepts up to 2,048 inputs per embeddings request. */
export const JINA_MAX_EMBEDDINGS_PER_CALL = 2048;

const responseSchema = z.object({
  model: z.string().nullish(),
  data: z.array(z.object({ index: z.number().nullish(), embedding: z.array(z.number()) })),
  usage: z.object({ total_tokens: z.number().nullish(), prompt_tokens: z.number().nullish() }).nullish(),
});

export class JinaEmbeddingModel implements EmbeddingModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;
  readonly maxEmbeddingsPerCall = JINA_MAX_EMBEDDINGS_PER_CALL;

  constructor(
    readonly modelId: string,
    private readonly config: JinaConfig,
  ) {
    this.provider = config.provider;
  }

  async doEmbed(options: EmbedOptionsV1): Promise<EmbedResultV1> {
    if (options.values.length > this.maxEmbeddingsPerCall) {
      throw new ProviderError({ code: 'provider_bad_request', provider: this.provider, message: `Too many values for one embedding call: ${options.values.length} > ${this.maxEmbeddingsPerCall}; use embedMany.` });
    }
    if (options.values.length === 0) return { embeddings: [], usage: emptyUsage(true) };
    let result;
    try {
      result = await postJson({
        provider: this.provider,
        url: joinURL(this.config.baseURL, 'embeddings'),
        headers: this.config.headers(options.headers),
        body: {
          model: this.modelId,
          input: options.values,
          embedding_type: 'float',
          // Task adapters exist on jina-embeddings-v3 and later; without an input type none is sent.
          ...(options.inputType && { task: options.inputType === 'query' ? 'retrieval.query' : 'retrieval.passage' }),
          ...(options.dimensions !== undefined && { dimensions: options.dimensions }),
        },
        fetch: this.config.fetch,
        abortSignal: options.abortSignal,
        requestIdHeader: 'x-request-id',
      });
    } catch (error) {
      throw asJinaError(this.provider, error);
    }
    const body = await readJson(this.provider, result, responseSchema, options.abortSignal);
    if (body.data.length !== options.values.length) {
      throw badResponse(this.provider, `expected ${options.values.length} embeddings, got ${body.data.length}.`, result.requestId);
    }
    const embeddings = body.data
      .map((item, position) => ({ index: item.index ?? position, embedding: item.embedding }))
      .sort((a, b) => a.index - b.index)
      .map((item) => item.embedding);
    const tokens = body.usage?.total_tokens ?? body.usage?.prompt_tokens;
    const usage = tokens !== null && tokens !== undefined ? { ...emptyUsage(true), inputTokens: tokens } : emptyUsage(false);
    return { embeddings, usage, requestId: result.requestId, responseModelId: body.model ?? undefined };
  }
}
