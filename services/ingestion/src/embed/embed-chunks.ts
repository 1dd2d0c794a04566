import type { GatewayCallContext, GatewayModels } from '@quire/gateway-client';

export class EmbeddingValidationError extends Error {
  override name = 'EmbeddingValidationError';
  constructor(
    readonly code: 'embedding_invalid' | 'dimension_mismatch',
    message: string,
  ) {
    super(message);
  }
}

export interface EmbedChunksInput {
  models: GatewayModels;
  modelName: string;
  texts: string[];
  /** Builds the call context per batch, so a long job signs a fresh identity token each time. */
  context: () => GatewayCallContext;
  /** The dimension the index version already fixed, or the one the collection asked for. */
  expectedDimensions: number | null;
  /** Ask the model to shorten its vectors (only when the collection set embedding_dimensions). */
  requestDimensions?: number;
  batchCap: number;
  onBatch: (embedded: number) => Promise<void>;
}

/**
 * Embeds in batches of the model's `maxEmbeddingsPerCall` (capped), in order, and checks every
 * vector before anything is written: a NaN or a short vector would poison the index silently.
 */
export async function embedChunks(input: EmbedChunksInput): Promise<{ vectors: number[][]; dimensions: number }> {
  const vectors: number[][] = [];
  let dimensions = input.expectedDimensions;
  for (let i = 0; i < input.texts.length; ) {
    const model = input.models.embeddingModel(input.modelName, input.context());
    const size = Math.max(1, Math.min(model.maxEmbeddingsPerCall || 1, input.batchCap));
    const values = input.texts.slice(i, i + size);
    const result = await model.doEmbed({
      values,
      inputType: 'document',
      ...(input.requestDimensions ? { dimensions: input.requestDimensions } : {}),
    });
    if (result.embeddings.length !== values.length) {
      throw new EmbeddingValidationError('embedding_invalid', `The model returned ${result.embeddings.length} vectors for ${values.length} texts.`);
    }
    for (const [k, vector] of result.embeddings.entries()) {
      if (!Array.isArray(vector) || vector.length === 0 || !vector.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw new EmbeddingValidationError('embedding_invalid', `The model returned a vector with non-finite values for chunk ${i + k}.`);
      }
      dimensions ??= vector.length;
      if (vector.length !== dimensions) {
        throw new EmbeddingValidationError(
          'dimension_mismatch',
          `The model returned ${vector.length} dimensions for chunk ${i + k}; the index expects ${dimensions}.`,
        );
      }
      vectors.push(vector);
    }
    i += values.length;
    await input.onBatch(i);
  }
  return { vectors, dimensions: dimensions ?? 0 };
}
