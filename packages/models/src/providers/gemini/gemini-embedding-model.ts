import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { emptyUsage, type UsageV1 } from '../../spec/usage.js';
import { badResponse, postJson, readJson } from '../shared/http.js';
import { assertEmbeddingBatchSize } from '../shared/embedding-batch.js';
import { geminiBatchEmbedResponseSchema } from './gemini-api-types.js';
import { asGeminiError } from './gemini-error.js';
import type { GeminiConfig } from './gemini-provider.js';

/** `batchEmbedContents` accepts at most 100 requests per call. */
export const GEMINI_MAX_EMBEDDINGS_PER_CALL = 100;

/**
 * The Developer API reports no token usage for embeddings (providers.md §5.4), so usage is an
 * estimate (about four characters per token) flagged `reported: false` for the ledger.
 */
function estimatedUsage(values: string[]): UsageV1 {
  const chars = values.reduce((sum, value) => sum + value.length, 0);
  return { ...emptyUsage(false), inputTokens: Math.ceil(chars / 4) };
}

export class GeminiEmbeddingModel implements EmbeddingModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;
  readonly maxEmbeddingsPerCall = GEMINI_MAX_EMBEDDINGS_PER_CALL;

  constructor(
    readonly modelId: string,
    private readonly config: GeminiConfig,
  ) {
    this.provider = config.provider;
  }

  async doEmbed(options: EmbedOptionsV1): Promise<EmbedResultV1> {
    assertEmbeddingBatchSize(this.provider, options.values.length, this.maxEmbeddingsPerCall);
    if (options.values.length === 0) return { embeddings: [], usage: emptyUsage(true) };
    const taskType = options.inputType === 'query' ? 'RETRIEVAL_QUERY' : options.inputType === 'document' ? 'RETRIEVAL_DOCUMENT' : undefined;
    // The batch route serves one value as well (the official SDK uses it for single embeds too).
    const requests = options.values.map((text) => ({
      model: `models/${this.modelId}`,
      content: { parts: [{ text }] },
      ...(taskType && { taskType }),
      ...(options.dimensions !== undefined && { outputDimensionality: options.dimensions }),
    }));
    let result;
    try {
      result = await postJson({
        provider: this.provider,
        url: this.config.modelURL(this.modelId, 'batchEmbedContents'),
        headers: this.config.headers(options.headers),
        body: { requests },
        fetch: this.config.fetch,
        abortSignal: options.abortSignal,
        requestIdHeader: 'x-request-id',
      });
    } catch (error) {
      throw asGeminiError(this.provider, error);
    }
    const body = await readJson(this.provider, result, geminiBatchEmbedResponseSchema, options.abortSignal);
    if (body.embeddings.length !== options.values.length) {
      throw badResponse(this.provider, `expected ${options.values.length} embeddings, got ${body.embeddings.length}.`, result.requestId);
    }
    return { embeddings: body.embeddings.map((e) => e.values), usage: estimatedUsage(options.values), requestId: result.requestId };
  }
}
