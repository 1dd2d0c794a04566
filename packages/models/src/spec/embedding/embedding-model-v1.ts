import type { CallOptionsV1, ResponseMetaV1 } from '../call-options.js';
import type { UsageV1 } from '../usage.js';

export interface EmbedOptionsV1 extends CallOptionsV1 {
  values: string[];
  /** Requested output dimensions, for models that can shorten their vectors. */
  dimensions?: number;
  /** Hint for asymmetric models (Cohere, Voyage, Gemini): queries and documents embed differently. */
  inputType?: 'query' | 'document';
  /**
   * How the caller would like the vectors carried, for providers that let it choose: `base64` (little-endian
   * float32) is exact for float32 vectors and a fraction of the cost of JSON numbers to encode and parse
   * (a 1,536-dimension vector is about 45 µs of JSON.parse as numbers). Providers without the choice ignore it.
   */
  encoding?: 'float' | 'base64';
}

export interface EmbedResultV1 extends ResponseMetaV1 {
  /** One vector per input value, in input order. */
  embeddings: number[][];
  usage: UsageV1;
}

/** Batch in, vectors out. Batching beyond `maxEmbeddingsPerCall` is the caller's job (see embedMany). */
export interface EmbeddingModelV1 {
  readonly specificationVersion: 'v1';
  readonly provider: string;
  readonly modelId: string;
  readonly maxEmbeddingsPerCall: number;
  /**
   * The provider's documented cap on tokens summed over one call's values, counted by its own
   * tokenizer; absent where it documents none (or the adapter cannot tell, as behind a gateway).
   * Data for callers that split batches, not enforced by adapters: only the provider can count exactly.
   */
  readonly maxTokensPerCall?: number;
  doEmbed(options: EmbedOptionsV1): Promise<EmbedResultV1>;
}
