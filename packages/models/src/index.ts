// Spec types (re-exported whole so additions to the spec are public automatically)
export * from './spec/usage.js';
export * from './spec/call-options.js';
export * from './spec/embedding/embedding-model-v1.js';
export * from './spec/rerank/reranking-model-v1.js';
export * from './spec/generation/generation-model-v1.js';

// Errors
export { ACCOUNT_CODES, CODE_TEXT, ProviderError, type ProviderErrorArgs, type ProviderErrorCode } from './errors/provider-error.js';
export { UnsupportedFunctionalityError } from './errors/unsupported-functionality-error.js';
export {
  MAX_RETRY_AFTER_MS,
  parseRetryAfterMs,
  providerErrorFromFetchFailure,
  providerErrorFromResponse,
  type HeadersLike,
} from './errors/provider-error-from-response.js';

// Transport hooks (the gateway's connect deadline, observing fetch wrappers)
export { DEFAULT_TRANSPORT, HTTP_HOOKS, type HttpHooks, type HttpResponse } from './providers/shared/http.js';

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
export { createLocal, localSettingsSchema, type LocalProvider, type LocalSettings } from './providers/local/local-provider.js';
export {
  BGE_QUERY_INSTRUCTION,
  type LocalEmbeddingModelId,
  type LocalEmbeddingModelOptions,
  type LocalRerankingModelId,
} from './providers/local/local-embedding-model-options.js';
export { LOCAL_RECOMMENDED_MODELS } from './providers/local/local-error.js';
export { createAzureOpenAI, azureOpenAISettingsSchema, AZURE_OPENAI_DEFAULT_API_VERSION, type AzureOpenAIProvider, type AzureOpenAISettings } from './providers/azure-openai/azure-openai-provider.js';
export { createGemini, geminiSettingsSchema, GEMINI_DEFAULT_BASE_URL, type GeminiProvider, type GeminiSettings } from './providers/gemini/gemini-provider.js';
export { GEMINI_MAX_EMBEDDINGS_PER_CALL } from './providers/gemini/gemini-embedding-model.js';
export { createCohere, cohereSettingsSchema, COHERE_DEFAULT_BASE_URL, type CohereProvider, type CohereSettings } from './providers/cohere/cohere-provider.js';
export { createVoyage, voyageSettingsSchema, VOYAGE_DEFAULT_BASE_URL, type VoyageProvider, type VoyageSettings } from './providers/voyage/voyage-provider.js';
export { createJina, jinaSettingsSchema, JINA_DEFAULT_BASE_URL, type JinaProvider, type JinaSettings } from './providers/jina/jina-provider.js';
export { createTei, teiSettingsSchema, type TeiProvider, type TeiSettings } from './providers/tei/tei-provider.js';
export { createOllama, ollamaSettingsSchema, OLLAMA_DEFAULT_BASE_URL, type OllamaProvider, type OllamaSettings } from './providers/ollama/ollama-provider.js';
export {
  createOpenAICompatiblePreset,
  isOpenAICompatiblePreset,
  OPENAI_COMPATIBLE_PRESETS,
  OPENAI_COMPATIBLE_PRESET_NAMES,
  type OpenAICompatiblePreset,
  type OpenAICompatiblePresetName,
  type OpenAICompatiblePresetSettings,
} from './providers/openai-compatible/openai-compatible-presets.js';

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
  type ProviderType,
} from './registry/providers-config.js';
export { RegistryError, type RegistryErrorCode } from './registry/registry-error.js';
export { providerBaseURL } from './registry/provider-entries.js';
export { guardedLookup, EGRESS_REFUSED } from './net/guarded-lookup.js';
export { fetchThroughLookup, type PlainFetch } from './net/guarded-fetch.js';
export { classifyAddress, classifyHostSync, hostOf, type HostClass } from './net/classify-address.js';
export { assertSafeBaseUrlSync, type BaseUrlPolicy } from './registry/safe-base-url.js';

// Pricing
export { PRICE_CATALOG, type ModelPrice, type PriceCatalog } from './pricing/catalog.js';
export { createPriceBook, COST_MIN_SCALE, type CostResult, type PriceBook } from './pricing/price-book.js';
export { addDecimal } from './pricing/decimal.js';

// Shared callers and helpers
export { embedMany, addUsage, type EmbedManyOptions, type EmbedManyResult } from './embed-many.js';
export {
  PER_INPUT_TOKEN_OVERHEAD,
  embeddingBatchEnd,
  embeddingBatchLimitsOf,
  estimateEmbeddingTokens,
  planEmbeddingBatches,
  type EmbeddingBatchLimits,
} from './embedding-batches.js';
export { parseSSE, type SSEEvent } from './sse.js';
