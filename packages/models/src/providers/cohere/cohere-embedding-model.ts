import { z } from 'zod';
import { ProviderError } from '../../errors/provider-error.js';
import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { badResponse, joinURL, postJson, readJson } from '../shared/http.js';
import type { CohereConfig } from './cohere-provider.js';

/** Cohere's documented maximum number of texts per embed call. */
export const COHERE_MAX_EMBEDDINGS_PER_CALL = 96;

const billedUnitsSchema = z.object({ input_tokens: z.number().nullish(), search_units: z.number().nullish() }).nullish();
export const cohereMetaSchema = z.object({ billed_units: billedUnitsSchema }).nullish();

const embedResponseSchema = z.object({
  id: z.string().nullish(),
  embeddings: z.object({ float: z.array(z.array(z.number())) }),
  meta: cohereMetaSchema,
});

export class CohereEmbeddingModel implements EmbeddingModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;
  readonly maxEmbeddingsPerCall = COHERE_MAX_EMBEDDINGS_PER_CALL;

  constructor(
    readonly modelId: string,
    private readonly config: CohereConfig,
  ) {
    this.provider = config.provider;
  }

  async doEmbed(options: EmbedOptionsV1): Promise<EmbedResultV1> {
    if (options.values.length > this.maxEmbeddingsPerCall) {
      throw new ProviderError({ code: 'provider_bad_request', provider: this.provider, message: `Too many values for one embedding call: ${options.values.length} > ${this.maxEmbeddingsPerCall}; use embedMany.` });
    }
    if (options.values.length === 0) return { embeddings: [], usage: emptyUsage(true) };
    const result = await postJson({
      provider: this.provider,
      url: joinURL(this.config.baseURL, 'v2/embed'),
      headers: this.config.headers(options.headers),
      body: {
        model: this.modelId,
        texts: options.values,
        // input_type is required in v2; documents are the safe default for stored text.
        input_type: options.inputType === 'query' ? 'search_query' : 'search_document',
        embedding_types: ['float'],
        ...(options.dimensions !== undefined && { output_dimension: options.dimensions }),
      },
      fetch: this.config.fetch,
      abortSignal: options.abortSignal,
      requestIdHeader: 'x-request-id',
    });
    const body = await readJson(this.provider, result, embedResponseSchema, options.abortSignal);
    const requestId = result.requestId ?? body.id ?? undefined;
    if (body.embeddings.float.length !== options.values.length) {
      throw badResponse(this.provider, `expected ${options.values.length} embeddings, got ${body.embeddings.float.length}.`, requestId);
    }
    const tokens = body.meta?.billed_units?.input_tokens;
    const usage = tokens !== null && tokens !== undefined ? { ...emptyUsage(true), inputTokens: tokens } : emptyUsage(false);
    return { embeddings: body.embeddings.float, usage, requestId };
  }
}
