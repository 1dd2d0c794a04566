import { ProviderError } from '../../errors/provider-error.js';
import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { assertEmbeddingBatchSize } from '../shared/embedding-batch.js';
import { resolveEmbeddingModelOptions, type LocalEmbeddingModelOptions, type ResolvedEmbeddingModelOptions } from './local-embedding-model-options.js';
import type { LocalRuntime, TensorLike } from './local-runtime.js';

/** Real (unpadded) tokens in a batch: what the model actually read. */
export function countTokens(attentionMask: TensorLike): number {
  let total = 0;
  for (let i = 0; i < attentionMask.data.length; i++) total += Number(attentionMask.data[i]);
  return total;
}

/**
 * One vector per sequence from `[batch, sequence, hidden]` token vectors: the first token's (CLS)
 * or the mean over tokens whose mask is 1 (padding excluded), then scaled to unit length so that
 * dot product equals cosine similarity.
 */
export function poolEmbeddings(hidden: TensorLike, attentionMask: TensorLike, pooling: 'mean' | 'cls'): number[][] {
  const [batch, sequence, size] = hidden.dims;
  if (batch === undefined || sequence === undefined || size === undefined || hidden.dims.length !== 3) {
    throw new Error(`expected last_hidden_state of rank 3, got dims [${hidden.dims.join(', ')}]`);
  }
  const out: number[][] = [];
  for (let b = 0; b < batch; b++) {
    const vector = new Array<number>(size).fill(0);
    let count = 0;
    for (let s = 0; s < (pooling === 'cls' ? 1 : sequence); s++) {
      if (pooling === 'mean' && Number(attentionMask.data[b * sequence + s]) === 0) continue;
      const offset = (b * sequence + s) * size;
      for (let h = 0; h < size; h++) vector[h]! += Number(hidden.data[offset + h]);
      count++;
    }
    const mean = vector.map((value) => value / Math.max(count, 1));
    const norm = Math.sqrt(mean.reduce((sum, value) => sum + value * value, 0));
    out.push(norm > 0 ? mean.map((value) => value / norm) : mean);
  }
  return out;
}

export class LocalEmbeddingModel implements EmbeddingModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;
  readonly maxEmbeddingsPerCall: number;
  private readonly options: ResolvedEmbeddingModelOptions;

  constructor(
    readonly modelId: string,
    private readonly runtime: LocalRuntime,
    options: LocalEmbeddingModelOptions = {},
  ) {
    this.provider = runtime.config.provider;
    this.options = resolveEmbeddingModelOptions(modelId, options);
    this.maxEmbeddingsPerCall = this.options.maxEmbeddingsPerCall;
  }

  async doEmbed(options: EmbedOptionsV1): Promise<EmbedResultV1> {
    assertEmbeddingBatchSize(this.provider, options.values.length, this.maxEmbeddingsPerCall);
    if (options.values.length === 0) return { embeddings: [], usage: emptyUsage(true) };
    const prefix = options.inputType === 'query' ? this.options.queryPrefix : this.options.documentPrefix;
    const texts = options.values.map((value) => prefix + value);

    return this.runtime.withModel(
      'embedding',
      this.modelId,
      async (model) => {
        const inputs = model.tokenize(texts);
        const outputs = await model.forward(inputs);
        const hidden = outputs.last_hidden_state;
        if (!hidden) throw new Error(`the model has no last_hidden_state output (outputs: ${Object.keys(outputs).join(', ')})`);
        const embeddings = poolEmbeddings(hidden, inputs.attention_mask, this.options.pooling);
        const width = embeddings[0]?.length ?? 0;
        if (options.dimensions !== undefined && options.dimensions !== width) {
          throw new ProviderError({
            code: 'provider_bad_request',
            provider: this.provider,
            message: `Local model "${this.modelId}" produces ${width}-dimensional vectors; ${options.dimensions} were requested.`,
          });
        }
        return { embeddings, usage: { ...emptyUsage(true), inputTokens: countTokens(inputs.attention_mask) }, responseModelId: this.modelId };
      },
      options.abortSignal,
    );
  }
}
