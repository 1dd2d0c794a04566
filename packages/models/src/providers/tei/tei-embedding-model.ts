import { z } from 'zod';
import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { assertEmbeddingBatchSize, assertEmbeddingCount } from '../shared/embedding-batch.js';
import { readJson } from '../shared/http.js';
import { postToProvider } from '../shared/http-provider.js';
import { asTeiError, teiUsage } from './tei-error.js';
import type { TeiConfig } from './tei-provider.js';
import { vectorSchema } from '../shared/vector-schema.js';

/** A bare array of vectors, one per input. */
const responseSchema = z.array(vectorSchema);

export class TeiEmbeddingModel implements EmbeddingModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;
  readonly maxEmbeddingsPerCall: number;

  constructor(
    readonly modelId: string,
    private readonly config: TeiConfig,
  ) {
    this.provider = config.provider;
    this.maxEmbeddingsPerCall = config.maxBatchSize;
  }

  async doEmbed(options: EmbedOptionsV1): Promise<EmbedResultV1> {
    assertEmbeddingBatchSize(this.provider, options.values.length, this.maxEmbeddingsPerCall);
    if (options.values.length === 0) return { embeddings: [], usage: emptyUsage(true) };
    // `dimensions` and `inputType` have no portable TEI equivalent (prompts are server-configured).
    const result = await postToProvider(this.config, 'embed', { inputs: options.values, normalize: true, truncate: false }, options, asTeiError);
    const embeddings = await readJson(this.provider, result, responseSchema, options.abortSignal);
    assertEmbeddingCount(this.provider, options.values.length, embeddings.length, result.requestId);
    return { embeddings, usage: teiUsage(result.response.headers), requestId: result.requestId };
  }
}
