import { pricedFrom, type PriceCatalog } from './model-price.js';

/**
 * Cohere. cohere.com/pricing now lists Model Vault hourly rates and only a few pay-as-you-go
 * token rates ("Advanced retrieval models", read 2026-10-18).
 *
 * Left out: every rerank model (rerank-v3.5, rerank-v4.0-*, rerank-v5.0-*: the page read on
 * 2026-10-18 states no pay-as-you-go per-search price), embed-english/multilingual-v3.0 (no
 * self-serve rate on the page), embed-v5.0-pro (no rate found), and the Command models.
 */
const cohere = pricedFrom('https://cohere.com/pricing');

export const COHERE_PRICES: PriceCatalog = {
  'cohere/embed-v5.0-fast': cohere('2026-10-18', { input: '0.08', output: '0' }),
  // Text inputs; image inputs cost $0.47 per million tokens. Last dated reading: June 2026.
  'cohere/embed-v4.0': cohere('2026-06-01', { input: '0.12', output: '0', status: 'legacy' }),
};
