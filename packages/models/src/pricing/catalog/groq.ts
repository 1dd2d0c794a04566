import { pricedFrom, type PriceCatalog } from './model-price.js';

/**
 * Groq on-demand, from the production-models table of console.groq.com/docs/models (its price
 * column matches groq.com/pricing). No cached-input rate is published.
 *
 * Left out (decommissioned): llama-3.3-70b-versatile (2026-08-16), llama-3.1-8b-instant,
 * meta-llama/llama-4-scout-17b-16e-instruct, meta-llama/llama-4-maverick-17b-128e-instruct,
 * qwen3.6-27b. Kimi K2 and the other current models: no dated price found.
 */
const groq = pricedFrom('https://groq.com/pricing');

export const GROQ_PRICES: PriceCatalog = {
  'groq/openai/gpt-oss-120b': groq('2026-05-20', { input: '0.15', output: '0.60' }),
  'groq/openai/gpt-oss-20b': groq('2026-05-20', { input: '0.075', output: '0.30' }),
};
