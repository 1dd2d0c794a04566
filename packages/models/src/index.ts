// Spec types (re-exported whole so additions to the spec are public automatically)
export * from './spec/usage.js';
export * from './spec/call-options.js';
export * from './spec/embedding/embedding-model-v1.js';
export * from './spec/rerank/reranking-model-v1.js';
export * from './spec/generation/generation-model-v1.js';

// Errors
export { ProviderError, type ProviderErrorCode } from './errors/provider-error.js';
export {
  MAX_RETRY_AFTER_MS,
  parseRetryAfterMs,
  providerErrorFromFetchFailure,
  providerErrorFromResponse,
  type HeadersLike,
} from './errors/provider-error-from-response.js';

// Providers
export {
  createOpenAICompatible,
  openAICompatibleSettingsSchema,
  type OpenAICompatibleProvider,
  type OpenAICompatibleSettings,
} from './providers/openai-compatible/openai-compatible-provider.js';
export { OPENAI_MAX_EMBEDDINGS_PER_CALL, decodeBase64Embedding } from './providers/openai-compatible/openai-compatible-embedding-model.js';
export {
  ANTHROPIC_DEFAULT_BASE_URL,
  ANTHROPIC_VERSION,
  anthropicSettingsSchema,
  createAnthropic,
  type AnthropicProvider,
  type AnthropicSettings,
} from './providers/anthropic/anthropic-provider.js';
export { ANTHROPIC_DEFAULT_MAX_TOKENS } from './providers/anthropic/anthropic-chat-model.js';

// Registry
export {
  createModelRegistry,
  parseModelName,
  type ModelRegistry,
  type ModelRegistryOptions,
} from './registry/model-registry.js';
export {
  OPENAI_DEFAULT_BASE_URL,
  ProviderConfigSchema,
  ProvidersConfigSchema,
  providersFromEnv,
  type ProviderConfig,
  type ProvidersConfig,
} from './registry/providers-config.js';
export { RegistryError, type RegistryErrorCode } from './registry/registry-error.js';

// Pricing
export { PRICE_CATALOG, type ModelPrice, type PriceCatalog } from './pricing/catalog.js';
export { createPriceBook, COST_MIN_SCALE, type CostResult, type PriceBook } from './pricing/price-book.js';
export { addDecimal } from './pricing/decimal.js';

// Shared callers and helpers
export { embedMany, addUsage, type EmbedManyOptions, type EmbedManyResult } from './embed-many.js';
export { parseSSE, type SSEEvent } from './sse.js';
