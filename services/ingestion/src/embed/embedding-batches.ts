/**
 * How ingestion cuts texts into embedding calls lives in `@quire/models` (embedding-batches.ts), shared
 * with `embedMany` and the gateway's `/v1/embeddings`; re-exported here for ingestion's imports.
 */
export {
  PER_INPUT_TOKEN_OVERHEAD,
  embeddingBatchEnd,
  estimateEmbeddingTokens,
  planEmbeddingBatches,
  type EmbeddingBatchLimits,
} from '@quire/models';
