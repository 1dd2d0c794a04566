import type { EmbeddingModelV1 } from '../spec/embedding/embedding-model-v1.js';
import type { GenerationModelV1 } from '../spec/generation/generation-model-v1.js';
import type { RerankingModelV1 } from '../spec/rerank/reranking-model-v1.js';
import { createLocal } from '../providers/local/local-provider.js';
import type { FetchFunction } from '../providers/shared/http.js';
import { buildProviderEntry, guardProviderBaseURL, type ProviderEntry } from './provider-entries.js';
import { parseProvidersConfig, WELL_KNOWN_PROVIDER_ENV, type ProviderConfig, type ProvidersConfig } from './providers-config.js';
import { RegistryError } from './registry-error.js';

export interface ModelRegistry {
  embeddingModel(name: string): EmbeddingModelV1;
  generationModel(name: string): GenerationModelV1;
  rerankingModel(name: string): RerankingModelV1;
  /** Configured provider names with their type, sorted by name. */
  providers(): { name: string; type: ProviderConfig['type'] }[];
}

export interface ModelRegistryOptions {
  /**
   * Replaces the transport for every provider (tests, proxies). Such a fetch is the embedder's own
   * transport: the connect-time egress guard does not run inside it, only the build-time check of
   * each base URL's literal address or well-known name does. A fetch marked DEFAULT_TRANSPORT (the
   * gateway's `scopedFetch`) or the global fetch keeps Quire's own, guarded transport.
   */
  fetch?: FetchFunction;
}

/** Splits at the first slash only: model ids such as `meta-llama/Llama-3.1-8B` contain slashes. */
export function parseModelName(name: string): { provider: string; modelId: string } {
  const slash = name.indexOf('/');
  const provider = slash === -1 ? '' : name.slice(0, slash);
  const modelId = slash === -1 ? '' : name.slice(slash + 1);
  if (provider.trim() === '' || modelId.trim() === '') {
    throw new RegistryError('invalid_model_name', `Model name "${name}" is not of the form "provider/model" (for example "openai/text-embedding-3-small").`);
  }
  return { provider, modelId };
}

function buildEntry(name: string, config: ProviderConfig, fetch: FetchFunction | undefined): ProviderEntry {
  if (config.type === 'local') {
    const { type, ...settings } = config;
    const provider = createLocal({ name, ...settings });
    return { type, embeddingModel: (id) => provider.embeddingModel(id), rerankingModel: provider.rerankingModel };
  }
  return buildProviderEntry(name, config, fetch);
}

export function createModelRegistry(config: ProvidersConfig, options: ModelRegistryOptions = {}): ModelRegistry {
  const parsed = parseProvidersConfig(config);
  const entries = new Map<string, ProviderEntry>();
  for (const [name, providerConfig] of Object.entries(parsed)) {
    guardProviderBaseURL(name, providerConfig);
    entries.set(name, buildEntry(name, providerConfig, options.fetch));
  }

  const entryFor = (provider: string): ProviderEntry => {
    const entry = entries.get(provider);
    if (entry) return entry;
    const env = WELL_KNOWN_PROVIDER_ENV[provider];
    if (env) {
      const variables = env.key && env.baseURL ? `${env.key} (and ${env.baseURL} for a custom server or endpoint)` : (env.key ?? env.baseURL);
      throw new RegistryError('provider_not_configured', `Provider "${provider}" is not configured: set ${variables}, or add it to QUIRE_PROVIDERS_JSON.`);
    }
    const known = [...entries.keys()].sort().join(', ') || 'none';
    throw new RegistryError('unknown_provider', `Unknown provider "${provider}" (configured: ${known}); add it to QUIRE_PROVIDERS_JSON.`);
  };

  function resolve<K extends 'embeddingModel' | 'generationModel' | 'rerankingModel'>(
    name: string,
    capability: K,
    label: string,
  ): ReturnType<NonNullable<ProviderEntry[K]>> {
    const { provider, modelId } = parseModelName(name);
    const entry = entryFor(provider);
    const factory = entry[capability] as ((id: string) => ReturnType<NonNullable<ProviderEntry[K]>>) | undefined;
    if (!factory) {
      throw new RegistryError('model_capability_unsupported', `Provider "${provider}" (${entry.type}) has no ${label} models, so "${name}" cannot be used for ${label}.`);
    }
    return factory(modelId);
  }

  return {
    embeddingModel: (name) => resolve(name, 'embeddingModel', 'embedding'),
    generationModel: (name) => resolve(name, 'generationModel', 'generation'),
    rerankingModel: (name) => resolve(name, 'rerankingModel', 'reranking'),
    providers: () =>
      [...entries.entries()].map(([name, entry]) => ({ name, type: entry.type })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}
