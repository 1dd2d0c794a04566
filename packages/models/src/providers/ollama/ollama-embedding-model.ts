import { z } from 'zod';
import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { joinURL, postJson, readJson } from '../shared/http.js';
import { assertEmbeddingBatchSize, assertEmbeddingCount } from '../shared/embedding-batch.js';
import { tokenUsage } from '../shared/token-usage.js';
import type { OllamaConfig } from './ollama-provider.js';
import { vectorSchema } from '../shared/vector-schema.js';

/** Ollama documents no limit; this keeps one local request to a size a single GPU batch handles well. */
export const OLLAMA_MAX_EMBEDDINGS_PER_CALL = 256;

const responseSchema = z.object({
  model: z.string().nullish(),
  embeddings: z.array(vectorSchema),
  prompt_eval_count: z.number().nullish(),
});

export class OllamaEmbeddingModel implements EmbeddingModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;
  readonly maxEmbeddingsPerCall = OLLAMA_MAX_EMBEDDINGS_PER_CALL;

  constructor(
    readonly modelId: string,
    private readonly config: OllamaConfig,
  ) {
    this.provider = config.provider;
  }

  async doEmbed(options: EmbedOptionsV1): Promise<EmbedResultV1> {
    assertEmbeddingBatchSize(this.provider, options.values.length, this.maxEmbeddingsPerCall);
    if (options.values.length === 0) return { embeddings: [], usage: emptyUsage(true) };
    const result = await postJson({
      provider: this.provider,
      url: joinURL(this.config.baseURL, 'api/embed'),
      headers: this.config.headers(options.headers),
      body: { model: this.modelId, input: options.values, truncate: true, ...(options.dimensions !== undefined && { dimensions: options.dimensions }) },
      fetch: this.config.fetch,
      abortSignal: options.abortSignal,
      requestIdHeader: 'x-request-id',
    });
    const body = await readJson(this.provider, result, responseSchema, options.abortSignal);
    assertEmbeddingCount(this.provider, options.values.length, body.embeddings.length, result.requestId);
    // prompt_eval_count is omitempty: missing means "not reported", not zero.
    return { embeddings: body.embeddings, usage: tokenUsage(body.prompt_eval_count), requestId: result.requestId, responseModelId: body.model ?? undefined };
  }
}
