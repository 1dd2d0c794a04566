import { ANTHROPIC_PRICES } from './catalog/anthropic.js';
import { COHERE_PRICES } from './catalog/cohere.js';
import { GEMINI_PRICES } from './catalog/gemini.js';
import { GROQ_PRICES } from './catalog/groq.js';
import { MISTRAL_PRICES } from './catalog/mistral.js';
import type { PriceCatalog } from './catalog/model-price.js';
import { OPENAI_PRICES } from './catalog/openai.js';
import { QWEN_PRICES } from './catalog/qwen.js';
import { SELF_HOSTED_PRICES } from './catalog/self-hosted.js';
import { TOGETHER_PRICES } from './catalog/together.js';
import { VOYAGE_PRICES } from './catalog/voyage.js';

export type { ModelPrice, PriceCatalog } from './catalog/model-price.js';

/**
 * List prices of the models each vendor lists as current, plus older models the vendor still bills
 * (marked `status`). Keys are registry names (`provider/model`); one file per vendor under
 * `catalog/`, each naming its pricing page and what it leaves out. Refreshed 2026-11-25: every
 * entry's `asOf` is the date of the source its numbers were read from (where a source gives only a
 * month, the first of that month). A model whose price could not be confirmed is left out, so it is
 * metered with cost null and a warning; deployments add or correct prices with overrides
 * (QUIRE_PRICING_JSON), which replace catalog entries.
 */
export const PRICE_CATALOGS_BY_VENDOR: Readonly<Record<string, PriceCatalog>> = {
  openai: OPENAI_PRICES,
  anthropic: ANTHROPIC_PRICES,
  gemini: GEMINI_PRICES,
  cohere: COHERE_PRICES,
  voyage: VOYAGE_PRICES,
  mistral: MISTRAL_PRICES,
  groq: GROQ_PRICES,
  qwen: QWEN_PRICES,
  together: TOGETHER_PRICES,
  'self-hosted': SELF_HOSTED_PRICES,
};

export const PRICE_CATALOG: PriceCatalog = Object.assign({}, ...Object.values(PRICE_CATALOGS_BY_VENDOR));

/**
 * Providers with no catalog prices on purpose, and why; the price book adds the reason to its
 * "no price" warning so an operator knows what override to add.
 */
export const UNPRICED_PROVIDERS: Readonly<Record<string, string>> = {
  azure:
    'Azure OpenAI bills per deployment (Global, Data Zone or Regional meters, which can differ from OpenAI list prices) and model names are deployment names; add an override for "azure/<deployment>".',
  deepseek:
    'DeepSeek bills by time of day (peak rates are twice off-peak: deepseek-flash $0.15/$0.30 input, $0.003/$0.006 cache hit, $0.60/$1.20 output per 1M as of 2026-10-27), which a flat price cannot express; add an override with the rate you budget for. deepseek-chat and deepseek-reasoner were retired on 2026-07-24.',
  jina: 'Jina sells prepaid token packs and publishes no per-model pay-as-you-go rate; add an override with your pack rate.',
};
