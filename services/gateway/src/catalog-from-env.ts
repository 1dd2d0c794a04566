import { createModelRegistry, createPriceBook, providersFromEnv } from '@quire/models';
import type { Logger } from '@quire/server-kit';
import { parsePricingOverrides, type GatewayEnv } from './config.js';
import { createModelCatalog } from './model-catalog.js';
import { scopedFetch } from './routing/attempt-timer.js';

/** Providers from env, prices from the catalog plus overrides; says at start when nothing is configured. */
export function catalogFromEnv(env: GatewayEnv, logger: Logger, processEnv: NodeJS.ProcessEnv = process.env) {
  // scopedFetch lets per-target connect deadlines see when a provider's response headers arrive.
  const registry = createModelRegistry(providersFromEnv(processEnv), { fetch: scopedFetch });
  const priceBook = createPriceBook(parsePricingOverrides(env.QUIRE_PRICING_JSON));
  const providers = registry.providers();
  if (providers.length === 0) {
    logger.warn(
      'no model provider is configured: keyword search works, but embeddings and answers need one. ' +
        'Set OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible server) or ANTHROPIC_API_KEY, or QUIRE_PROVIDERS_JSON; ' +
        'to try Quire without a key, run the fake provider (pnpm fake-provider, see the README walk-through).',
    );
  } else {
    logger.info('model providers configured', { providers: providers.map((p) => `${p.name} (${p.type})`) });
  }
  const extra = (env.QUIRE_MODELS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return createModelCatalog(registry, priceBook, logger, extra);
}
