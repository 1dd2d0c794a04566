import { z } from 'zod';
import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { assertEmbeddingBatchSize, assertEmbeddingCount, embeddingsInInputOrder } from '../shared/embedding-batch.js';
import { readJson } from '../shared/http.js';
import { postToProvider } from '../shared/http-provider.js';
import { tokenUsage } from '../shared/token-usage.js';
import { asVoyageError } from './voyage-error.js';
import type { VoyageConfig } from './voyage-provider.js';
import { vectorSchema } from '../shared/vector-schema.js';

/** Voyage's documented list-length limit for one embeddings request. */
export const VOYAGE_MAX_EMBEDDINGS_PER_CALL = 1000;

/**
 * Voyage's documented cap on the tokens of one request's list, which depends on the model
 * (docs.voyageai.com/reference/embeddings-api). Models not listed get the smallest cap, 120K.
 */
const VOYAGE_TOKENS_PER_CALL: Readonly<Record<string, number>> = {
  'voyage-4-lite': 1_000_000,
  'voyage-3.5-lite': 1_000_000,
  'voyage-4': 320_000,
  'voyage-3.5': 320_000,
  'voyage-2': 320_000,
};
export const VOYAGE_MIN_TOKENS_PER_CALL = 120_000;

export function voyageMaxTokensPerCall(modelId: string): number {
  return VOYAGE_TOKENS_PER_CALL[modelId] ?? VOYAGE_MIN_TOKENS_PER_CALL;
}

const responseSchema = z.object({
  model: z.string().nullish(),
  data: z.array(z.object({ index: z.number().nullish(), embedding: vectorSchema })),
  usage: z.object({ total_tokens: z.number().nullish() }).nullish(),
});

export class VoyageEmbeddingModel implements EmbeddingModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;
  readonly maxEmbeddingsPerCall = VOYAGE_MAX_EMBEDDINGS_PER_CALL;
  readonly maxTokensPerCall: number;

  constructor(
    readonly modelId: string,
    private readonly config: VoyageConfig,
  ) {
    this.provider = config.provider;
    this.maxTokensPerCall = voyageMaxTokensPerCall(modelId);
  }

  async doEmbed(options: EmbedOptionsV1): Promise<EmbedResultV1> {
    assertEmbeddingBatchSize(this.provider, options.values.length, this.maxEmbeddingsPerCall);
    if (options.values.length === 0) return { embeddings: [], usage: emptyUsage(true) };
    const result = await postToProvider(this.config, 'embeddings', {
      model: this.modelId,
      input: options.values,
      // null (the default) embeds without a retrieval prompt; query/document add Voyage's own prompts.
      input_type: options.inputType ?? null,
      ...(options.dimensions !== undefined && { output_dimension: options.dimensions }),
    }, options, asVoyageError);
    const body = await readJson(this.provider, result, responseSchema, options.abortSignal);
    assertEmbeddingCount(this.provider, options.values.length, body.data.length, result.requestId);
    const usage = tokenUsage(body.usage?.total_tokens);
    return { embeddings: embeddingsInInputOrder(body.data), usage, requestId: result.requestId, responseModelId: body.model ?? undefined };
  }
}
