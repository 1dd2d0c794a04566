import { OPENAI_COMPATIBLE_PRESETS, PRICE_CATALOG, parseModelName, type ModelRegistry, type PriceBook, type ProviderType, type UsageV1 } from '@quire/models';
import type { Logger } from '@quire/server-kit';
import type { ModelCatalog } from './model-service.js';

/** Says whether a model name resolves without building the model (admin checks, not the call path). */
export interface ModelResolver {
  /**
   * Null when the registry can make some model (chat, embedding or rerank) of `name`, else why not.
   * Every provider type offers at least one of the three, so "resolves" is: the name is
   * `provider/model` and the provider is configured.
   */
  resolveProblem(name: string): string | null;
}

/** Provider types that run on the deployment's own hardware (or in process): no per-token bill. */
function isSelfHostedType(type: ProviderType): boolean {
  if (type === 'ollama' || type === 'tei' || type === 'local') return true;
  return Object.hasOwn(OPENAI_COMPATIBLE_PRESETS, type) && OPENAI_COMPATIBLE_PRESETS[type as keyof typeof OPENAI_COMPATIBLE_PRESETS].selfHosted;
}

/** Joins the provider registry and the price book into what the gateway's model service needs. */
export function createModelCatalog(registry: ModelRegistry, priceBook: PriceBook, logger: Logger, extraModels: string[] = []) {
  const warned = new Set<string>();
  // The registry's providers are fixed once it is built.
  const configured = new Set(registry.providers().map((p) => p.name));
  const selfHostedProviders = new Set(registry.providers().filter((p) => isSelfHostedType(p.type)).map((p) => p.name));
  return {
    embeddingModel: (name: string) => registry.embeddingModel(name),
    generationModel: (name: string) => registry.generationModel(name),
    rerankingModel: (name: string) => registry.rerankingModel(name),
    resolveProblem(name: string): string | null {
      try {
        if (configured.has(parseModelName(name).provider)) return null;
        // Unconfigured: the registry refuses before building anything, and its message says what to set.
        registry.generationModel(name);
        return null;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    },
    costOf(name: string, usage: UsageV1): string | null {
      const cost = priceBook.costOf(name, usage);
      if (cost.priced) return cost.costUsd;
      // Unknown prices are recorded as NULL cost (never zero) and said once per model. `kb/<collection>`
      // names a collection, not a model: its answer's own model calls are metered and priced one by one.
      if (!warned.has(name) && !name.startsWith('kb/')) {
        warned.add(name);
        logger.warn('model has no price; its calls are metered with cost null', { model: name, reason: cost.warning });
      }
      return null;
    },
    /**
     * Whether `name` is served by a provider of a self-hosted type (Ollama, TEI, vLLM, in-process
     * `local`), by the configured provider's type, not its name: budgets count such a model as free
     * when the catalog has no price for it. A generic OpenAI-compatible provider may be anything and
     * is not one.
     */
    selfHosted(name: string): boolean {
      const slash = name.indexOf('/');
      return slash > 0 && selfHostedProviders.has(name.slice(0, slash));
    },
    /** The configured providers' names: each serves models the list below may not name. */
    providerNames(): string[] {
      return [...configured].sort();
    },
    /** Models callers can use: priced models of configured providers, plus any configured extras. */
    listModels(): { id: string; owned_by: string }[] {
      const ids = new Set([...Object.keys(PRICE_CATALOG), ...extraModels].filter((id) => configured.has(parseModelName(id).provider)));
      return [...ids].sort().map((id) => ({ id, owned_by: parseModelName(id).provider }));
    },
  } satisfies ModelCatalog & ModelResolver & Record<string, unknown>;
}
