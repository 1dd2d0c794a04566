import { pricedFrom, type PriceCatalog } from './model-price.js';

/**
 * Together AI serverless. Only models whose Together model id and price were both confirmed.
 *
 * Left out: the Llama 3.x Turbo, DeepSeek-V3 and Qwen2.5 entries of the previous catalog (no 2026
 * listing found); DeepSeek V4 Pro ($2.10 / $4.40, cached $0.20), Kimi K2.6 ($1.20 / $4.50) and
 * GLM-5.2 ($1.40 / $4.40) were priced on 2026-07-03 but their Together model ids were not.
 */
const together = pricedFrom('https://www.together.ai/pricing');

export const TOGETHER_PRICES: PriceCatalog = {
  'together/openai/gpt-oss-120b': together('2026-05-20', { input: '0.15', output: '0.60' }),
};
