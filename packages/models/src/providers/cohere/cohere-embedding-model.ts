import { z } from 'zod';
import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { assertEmbeddingBatchSize, assertEmbeddingCount } from '../shared/embedding-batch.js';
import { readJson } from '../shared/http.js';
import { postToProvider } from '../shared/http-provider.js';
import { tokenUsage } from '../shared/token-usage.js';
import type { CohereConfig } from './cohere-provider.js';
import { vectorSchema } from '../shared/vector-schema.js';

/** Cohere's documented maximum number of texts per embed call. */
export const COHERE_MAX_EMBEDDINGS_PER_CALL = 96;

const billedUnitsSchema = z.object({ input_tokens: z.number().nullish(), search_units: z.number().nullish() }).nullish();
export const cohereMetaSchema = z.object({ billed_units: billedUnitsSchema }).nullish();

const embedResponseSchema = z.object({
  id: z.string().nullish(),
  embeddings: z.object({ float: z.array(vectorSchema) }),
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
    assertEmbeddingBatchSize(this.provider, options.values.length, this.maxEmbeddingsPerCall);
    if (options.values.length === 0) return { embeddings: [], usage: emptyUsage(true) };
    const result = await postToProvider(this.config, 'v2/embed', {
      model: this.modelId,
      texts: options.values,
      // input_type is required in v2; documents are the safe default for stored text.
      input_type: options.inputType === 'query' ? 'search_query' : 'search_document',
      embedding_types: ['float'],
      ...(options.dimensions !== undefined && { output_dimension: options.dimensions }),
    }, options);
    const body = await readJson(this.provider, result, embedResponseSchema, options.abortSignal);
    const requestId = result.requestId ?? body.id ?? undefined;
    assertEmbeddingCount(this.provider, options.values.length, body.embeddings.float.length, requestId);
    return { embeddings: body.embeddings.float, usage: tokenUsage(body.meta?.billed_units?.input_tokens), requestId };
  }
}
