import { z } from 'zod';
import type { CallOptionsV1 } from '../../spec/call-options.js';
import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { ProviderError } from '../../errors/provider-error.js';
import { UnsupportedFunctionalityError } from '../../errors/unsupported-functionality-error.js';
import { emptyUsage, type UsageV1 } from '../../spec/usage.js';
import { addUsage } from '../../embed-many.js';
import { assertEmbeddingBatchSize, assertEmbeddingCount } from '../shared/embedding-batch.js';
import { readJson, type PostJsonResult } from '../shared/http.js';
import { postToProvider } from '../shared/http-provider.js';
import { asTeiError, teiUsage } from './tei-error.js';
import type { TeiConfig } from './tei-provider.js';
import { vectorSchema } from '../shared/vector-schema.js';

/** A bare array of vectors, one per input. */
const responseSchema = z.array(vectorSchema);

/** The shortest input that still yields a vector: the probe is for the width, not the content. */
const WIDTH_PROBE_INPUT = 'a';

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
    let probeUsage: UsageV1 | undefined;
    if (options.dimensions !== undefined) {
      let width = this.config.widths.get(this.modelId);
      if (width === undefined) ({ width, usage: probeUsage } = await this.probeWidth(options));
      if (width !== undefined && options.dimensions !== width) {
        throw new UnsupportedFunctionalityError({ provider: this.provider, setting: 'dimensions', message: this.widthMessage(width, options.dimensions) });
      }
    }
    const { result, embeddings } = await this.embed(options.values, options);
    const width = embeddings[0]?.length ?? 0;
    if (options.dimensions !== undefined && options.dimensions !== width) {
      // The width learnt earlier no longer holds (the server now runs another model). Truncating
      // would be wrong for models not trained for it (Matryoshka), and a caller storing the vectors
      // in a column of the width it asked for would fail later, less clearly.
      throw new ProviderError({
        code: 'provider_bad_request',
        provider: this.provider,
        message: this.widthMessage(width, options.dimensions),
        ...(result.requestId ? { requestId: result.requestId } : {}),
      });
    }
    // The probe's tokens are part of what this call cost.
    const usage = teiUsage(result.response.headers);
    return { embeddings, usage: probeUsage ? addUsage(probeUsage, usage) : usage, requestId: result.requestId };
  }

  /** One `/embed` call; every answer teaches the model's width. */
  private async embed(values: string[], call: CallOptionsV1): Promise<{ result: PostJsonResult; embeddings: number[][] }> {
    const result = await postToProvider(this.config, 'embed', { inputs: values, normalize: true, truncate: false }, call, asTeiError);
    const embeddings = await readJson(this.provider, result, responseSchema, call.abortSignal);
    assertEmbeddingCount(this.provider, values.length, embeddings.length, result.requestId);
    const width = embeddings[0]?.length ?? 0;
    if (width > 0) this.config.widths.set(this.modelId, width);
    return { result, embeddings };
  }

  /**
   * TEI has no endpoint that states the width, so a `dimensions` request before any answer learns it
   * from a one-word call: a mismatch is then refused before the caller's inputs are sent (no batch
   * computed for nothing, and a route moves on as for any unsupported setting). The call's own signal
   * and headers go with it, so an abort, a deadline or the attribution headers apply to the probe too.
   */
  private async probeWidth(call: CallOptionsV1): Promise<{ width: number | undefined; usage: UsageV1 }> {
    const { result } = await this.embed([WIDTH_PROBE_INPUT], { ...(call.abortSignal ? { abortSignal: call.abortSignal } : {}), ...(call.headers ? { headers: call.headers } : {}) });
    return { width: this.config.widths.get(this.modelId), usage: teiUsage(result.response.headers) };
  }

  private widthMessage(width: number, requested: number): string {
    return `TEI model "${this.modelId}" produces ${width}-dimensional vectors; ${requested} were requested.`;
  }
}
