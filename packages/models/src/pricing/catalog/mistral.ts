import { pricedFrom, type PriceCatalog } from './model-price.js';

/**
 * Mistral La Plateforme, USD list prices. `-latest` aliases bill as the model they point to:
 * mistral-medium-latest is Medium 3.5 (Medium 3 and 3.1 were deprecated on 2026-05-22),
 * mistral-small-latest is Small 4. Readings dated June 2026.
 *
 * Left out: mistral-large-latest (sources disagree: Large 3 at $0.50 / $1.50, Large 4 at a
 * $1.36 / $4.18 list price, and which one the alias resolves to was not found), magistral-*,
 * devstral-*, ministral-*, mistral-embed and codestral-embed (no 2026 reading found).
 */
const mistral = pricedFrom('https://mistral.ai/pricing#api-pricing');

export const MISTRAL_PRICES: PriceCatalog = {
  'mistral/mistral-medium-latest': mistral('2026-06-01', { input: '1.50', output: '7.50' }),
  'mistral/mistral-small-latest': mistral('2026-06-01', { input: '0.10', output: '0.30' }),
  'mistral/codestral-latest': mistral('2026-06-01', { input: '0.30', output: '0.90' }),
};
