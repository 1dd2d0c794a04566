import { z } from 'zod';
import { ProviderError } from '../../errors/provider-error.js';
import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { badResponse, joinURL, postJson, readJson } from '../shared/http.js';
import { asTeiError, teiUsage } from './tei-error.js';
import type { TeiConfig } from './tei-provider.js';

/** A bare array of vectors, one per input. */
const responseSchema = z.array(z.array(z.number()));

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
    if (options.values.length > this.maxEmbeddingsPerCall) {
      throw new ProviderError({ code: 'provider_bad_request', provider: this.provider, message: `Too many values for one embedding call: ${options.values.length} > ${this.maxEmbeddingsPerCall}; use embedMany.` });
    }
    if (options.values.length === 0) return { embeddings: [], usage: emptyUsage(true) };
    let result;
    try {
      result = await postJson({
        provider: this.provider,
        url: joinURL(this.config.baseURL, 'embed'),
        headers: this.config.headers(options.headers),
        // `dimensions` and `inputType` have no portable TEI equivalent (prompts are server-configured).
        body: { inputs: options.values, normalize: true, truncate: false },
        fetch: this.config.fetch,
        abortSignal: options.abortSignal,
        requestIdHeader: 'x-request-id',
      });
    } catch (error) {
      throw asTeiError(this.provider, error);
    }
    const embeddings = await readJson(this.provider, result, responseSchema, options.abortSignal);
    if (embeddings.length !== options.values.length) {
      throw badResponse(this.provider, `expected ${options.values.length} embeddings, got ${embeddings.length}.`, result.requestId);
    }
    return { embeddings, usage: teiUsage(result.response.headers), requestId: result.requestId };
  }
}
