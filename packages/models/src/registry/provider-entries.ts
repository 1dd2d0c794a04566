import type { EmbeddingModelV1 } from '../spec/embedding/embedding-model-v1.js';
import type { GenerationModelV1 } from '../spec/generation/generation-model-v1.js';
import type { RerankingModelV1 } from '../spec/rerank/reranking-model-v1.js';
import { createAnthropic, ANTHROPIC_DEFAULT_BASE_URL } from '../providers/anthropic/anthropic-provider.js';
import { createAzureOpenAI } from '../providers/azure-openai/azure-openai-provider.js';
import { createCohere, COHERE_DEFAULT_BASE_URL } from '../providers/cohere/cohere-provider.js';
import { createGemini, GEMINI_DEFAULT_BASE_URL } from '../providers/gemini/gemini-provider.js';
import { createJina, JINA_DEFAULT_BASE_URL } from '../providers/jina/jina-provider.js';
import { createOllama, OLLAMA_DEFAULT_BASE_URL } from '../providers/ollama/ollama-provider.js';
import { createOpenAICompatiblePreset, isOpenAICompatiblePreset, OPENAI_COMPATIBLE_PRESETS } from '../providers/openai-compatible/openai-compatible-presets.js';
import { createOpenAICompatible } from '../providers/openai-compatible/openai-compatible-provider.js';
import type { FetchFunction } from '../providers/shared/http.js';
import { createTei } from '../providers/tei/tei-provider.js';
import { createVoyage, VOYAGE_DEFAULT_BASE_URL } from '../providers/voyage/voyage-provider.js';
import type { ProviderConfig, ProviderType } from './providers-config.js';
import { RegistryError } from './registry-error.js';
import { guardedLookup } from '../net/guarded-lookup.js';
import { setEgressGuard } from '../providers/shared/node-http.js';
import { assertSafeBaseUrlSync, egressRefusal, type BaseUrlPolicy } from './safe-base-url.js';

export interface ProviderEntry {
  type: ProviderType;
  embeddingModel?: (modelId: string) => EmbeddingModelV1;
  generationModel?: (modelId: string) => GenerationModelV1;
  rerankingModel?: (modelId: string) => RerankingModelV1;
}

/** Vendors in the OpenAI-compatible family that have no embeddings endpoint. */
const NO_EMBEDDINGS = new Set<ProviderType>(['deepseek', 'groq']);

/** Where a provider's requests go, defaults included; undefined for in-process providers. */
export function providerBaseURL(config: ProviderConfig): string | undefined {
  switch (config.type) {
    case 'local':
      return undefined;
    case 'azure-openai':
      return config.endpoint;
    case 'openai-compatible':
    case 'tei':
      return config.baseURL;
    case 'anthropic':
      return config.baseURL ?? ANTHROPIC_DEFAULT_BASE_URL;
    case 'gemini':
      return config.baseURL ?? GEMINI_DEFAULT_BASE_URL;
    case 'cohere':
      return config.baseURL ?? COHERE_DEFAULT_BASE_URL;
    case 'voyage':
      return config.baseURL ?? VOYAGE_DEFAULT_BASE_URL;
    case 'jina':
      return config.baseURL ?? JINA_DEFAULT_BASE_URL;
    case 'ollama':
      return config.baseURL ?? OLLAMA_DEFAULT_BASE_URL;
    default:
      return config.baseURL ?? OPENAI_COMPATIBLE_PRESETS[config.type].baseURL;
  }
}

/**
 * What a provider's base URL may reach is said explicitly in its settings: public hosts always;
 * loopback with `allowLoopback` (a model server on the same host); loopback, private and link-local
 * with `allowPrivateNetwork` (self-hosted Ollama, vLLM or TEI on the deployment's network; their
 * environment variables set it). Cloud metadata endpoints are refused for everyone. Whoever writes
 * the configuration (code, environment, a config file) gets the same rules.
 */
function policyFor(config: ProviderConfig): BaseUrlPolicy {
  if (config.type === 'local') return {};
  return { allowPrivateNetwork: config.allowPrivateNetwork === true, allowLoopback: config.allowLoopback === true };
}

function withName(name: string, error: unknown): unknown {
  return RegistryError.is(error) ? new RegistryError(error.code, `Provider "${name}": ${error.message}`, { cause: error }) : error;
}

/**
 * The checks run while the registry is built: literal IPs and well-known names now, whatever the
 * transport, and a guard in the DNS lookup of Quire's own transports (node:http, or fetch under
 * QUIRE_HTTP_CLIENT=fetch) that checks every later connection against the same policy. A
 * caller-supplied fetch gets the first check only (see ModelRegistryOptions.fetch).
 */
export function guardProviderBaseURL(name: string, config: ProviderConfig): void {
  const url = providerBaseURL(config);
  if (url === undefined) return;
  const policy = policyFor(config);
  try {
    assertSafeBaseUrlSync(url, policy);
  } catch (error) {
    throw withName(name, error);
  }
  setEgressGuard(url, guardedLookup(egressRefusal(policy)));
}

/** Builds the model factories of every remote provider type; `local` is built by the registry itself. */
export function buildProviderEntry(name: string, config: Exclude<ProviderConfig, { type: 'local' }>, fetch: FetchFunction | undefined): ProviderEntry {
  const common = { name, headers: config.headers, fetch };
  switch (config.type) {
    case 'anthropic': {
      const provider = createAnthropic({ ...common, baseURL: config.baseURL, apiKey: config.apiKey });
      return { type: config.type, generationModel: provider.chatModel };
    }
    case 'openai-compatible': {
      const provider = createOpenAICompatible({
        ...common, baseURL: config.baseURL, apiKey: config.apiKey, maxTokensField: config.maxTokensField,
        ...(config.base64Embeddings !== undefined ? { base64Embeddings: config.base64Embeddings } : {}),
      });
      return { type: config.type, generationModel: provider.chatModel, embeddingModel: provider.embeddingModel };
    }
    case 'azure-openai': {
      const provider = createAzureOpenAI({ ...common, endpoint: config.endpoint, apiKey: config.apiKey, apiVersion: config.apiVersion });
      return { type: config.type, generationModel: provider.chatModel, embeddingModel: provider.embeddingModel };
    }
    case 'gemini': {
      const provider = createGemini({ ...common, baseURL: config.baseURL, apiKey: config.apiKey });
      return { type: config.type, generationModel: provider.chatModel, embeddingModel: provider.embeddingModel };
    }
    case 'cohere':
    case 'voyage':
    case 'jina': {
      const create = { cohere: createCohere, voyage: createVoyage, jina: createJina }[config.type];
      const provider = create({ ...common, baseURL: config.baseURL, apiKey: config.apiKey });
      return { type: config.type, embeddingModel: provider.embeddingModel, rerankingModel: provider.rerankingModel };
    }
    case 'tei': {
      const provider = createTei({ ...common, baseURL: config.baseURL, apiKey: config.apiKey, maxBatchSize: config.maxBatchSize });
      return { type: config.type, embeddingModel: provider.embeddingModel, rerankingModel: provider.rerankingModel };
    }
    case 'ollama': {
      const provider = createOllama({ ...common, baseURL: config.baseURL, apiKey: config.apiKey });
      return { type: config.type, generationModel: provider.chatModel, embeddingModel: provider.embeddingModel };
    }
    default: {
      if (!isOpenAICompatiblePreset(config.type)) throw new RegistryError('invalid_provider_config', `Provider "${name}" has an unknown type.`);
      const provider = createOpenAICompatiblePreset(config.type, { ...common, baseURL: config.baseURL, apiKey: config.apiKey });
      return { type: config.type, generationModel: provider.chatModel, ...(!NO_EMBEDDINGS.has(config.type) && { embeddingModel: provider.embeddingModel }) };
    }
  }
}
