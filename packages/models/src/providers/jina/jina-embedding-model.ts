import { z } from 'zod';
import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { assertEmbeddingBatchSize, assertEmbeddingCount, embeddingsInInputOrder } from '../shared/embedding-batch.js';
import { readJson } from '../shared/http.js';
import { postToProvider } from '../shared/http-provider.js';
import { tokenUsage } from '../shared/token-usage.js';
import { asJinaError } from './jina-error.js';
import type { JinaConfig } from './jina-provider.js';
import { vectorSchema } from '../shared/vector-schema.js';

/** Jina accepts up to 2,048 inputs per embeddings request. */
export const JINA_MAX_EMBEDDINGS_PER_CALL = 2048;

const responseSchema = z.object({
  model: z.string().nullish(),
  data: z.array(z.object({ index: z.number().nullish(), embedding: vectorSchema })),
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
    assertEmbeddingBatchSize(this.provider, options.values.length, this.maxEmbeddingsPerCall);
    if (options.values.length === 0) return { embeddings: [], usage: emptyUsage(true) };
    const result = await postToProvider(this.config, 'embeddings', {
      model: this.modelId,
      input: options.values,
      embedding_type: 'float',
      // Task adapters exist on jina-embeddings-v3 and later; without an input type none is sent.
      ...(options.inputType && { task: options.inputType === 'query' ? 'retrieval.query' : 'retrieval.passage' }),
      ...(options.dimensions !== undefined && { dimensions: options.dimensions }),
    }, options, asJinaError);
    const body = await readJson(this.provider, result, responseSchema, options.abortSignal);
    assertEmbeddingCount(this.provider, options.values.length, body.data.length, result.requestId);
    const usage = tokenUsage(body.usage?.total_tokens ?? body.usage?.prompt_tokens);
    return { embeddings: embeddingsInInputOrder(body.data), usage, requestId: result.requestId, responseModelId: body.model ?? undefined };
  }
}
