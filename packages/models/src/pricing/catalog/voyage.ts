import { pricedFrom, type PriceCatalog } from './model-price.js';

/**
 * Voyage AI (by MongoDB). The first 200M tokens per model are free for every account; this is the
 * rate after that. Rerankers bill processed tokens (query tokens times documents, plus document
 * tokens), which the adapter reports as input tokens. Lineup and prices as listed in May 2026.
 *
 * Left out: voyage-context-4 and voyage-multimodal-3.5 (pixel-priced; no text-only rate kept here).
 */
const voyage = pricedFrom('https://docs.voyageai.com/docs/pricing');

export const VOYAGE_PRICES: PriceCatalog = {
  'voyage/voyage-4-large': voyage('2026-05-01', { input: '0.12', output: '0' }),
  'voyage/voyage-4': voyage('2026-05-01', { input: '0.06', output: '0' }),
  'voyage/voyage-4-lite': voyage('2026-05-01', { input: '0.02', output: '0' }),
  'voyage/voyage-context-3': voyage('2026-05-01', { input: '0.18', output: '0' }),
  'voyage/voyage-code-3': voyage('2026-05-01', { input: '0.18', output: '0' }),
  'voyage/voyage-3-large': voyage('2026-05-01', { input: '0.18', output: '0', status: 'legacy' }),
  'voyage/voyage-3.5': voyage('2026-05-01', { input: '0.06', output: '0', status: 'legacy' }),
  'voyage/voyage-3.5-lite': voyage('2026-05-01', { input: '0.02', output: '0', status: 'legacy' }),
  'voyage/rerank-2.5': voyage('2026-05-01', { input: '0.05', output: '0' }),
  'voyage/rerank-2.5-lite': voyage('2026-05-01', { input: '0.02', output: '0' }),
};
