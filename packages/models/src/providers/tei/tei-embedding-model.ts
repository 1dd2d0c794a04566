import { z } from 'zod';
import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { ProviderError } from '../../errors/provider-error.js';
import { UnsupportedFunctionalityError } from '../../errors/unsupported-functionality-error.js';
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
    // `inputType` has no portable TEI equivalent (prompts are server-configured), and neither has
    // `dimensions`: the server answers at its model's width, checked instead of passed on.
    const known = this.config.widths.get(this.modelId);
    if (options.dimensions !== undefined && known !== undefined && options.dimensions !== known) {
      throw new UnsupportedFunctionalityError({ provider: this.provider, setting: 'dimensions', message: this.widthMessage(known, options.dimensions) });
    }
    const result = await postToProvider(this.config, 'embed', { inputs: options.values, normalize: true, truncate: false }, options, asTeiError);
    const embeddings = await readJson(this.provider, result, responseSchema, options.abortSignal);
    assertEmbeddingCount(this.provider, options.values.length, embeddings.length, result.requestId);
    const width = embeddings[0]?.length ?? 0;
    if (width > 0) this.config.widths.set(this.modelId, width);
    if (options.dimensions !== undefined && options.dimensions !== width) {
      // Truncating would be wrong for models not trained for it (Matryoshka), and a caller storing
      // the vectors in a column of the width it asked for would fail later, less clearly.
      throw new ProviderError({
        code: 'provider_bad_request',
        provider: this.provider,
        message: this.widthMessage(width, options.dimensions),
        ...(result.requestId ? { requestId: result.requestId } : {}),
      });
    }
    return { embeddings, usage: teiUsage(result.response.headers), requestId: result.requestId };
  }

  private widthMessage(width: number, requested: number): string {
    return `TEI model "${this.modelId}" produces ${width}-dimensional vectors; ${requested} were requested.`;
  }
}
