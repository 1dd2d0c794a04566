import { pricedFrom, type PriceCatalog } from './model-price.js';

/**
 * Qwen on Alibaba Cloud Model Studio (DashScope), international (Singapore) list prices in USD.
 * Qwen 3.8 prices are flat across the context window. No cache-read rate is kept, so cached
 * tokens bill at the input rate (an over-estimate).
 *
 * Left out: the qwen-max / qwen-plus / qwen-turbo / qwen-flash aliases and qwen3-* snapshots
 * (prices are tiered by prompt length and differ between thinking and non-thinking output; no
 * current table was found), qwen3.7-max and qwen3.6-plus (superseded; tiered).
 */
const qwen = pricedFrom('https://www.alibabacloud.com/help/en/model-studio/models');

export const QWEN_PRICES: PriceCatalog = {
  'qwen/qwen3.8-max': qwen('2026-09-11', { input: '2', output: '6' }),
  'qwen/qwen3.8-flash': qwen('2026-09-11', { input: '0.15', output: '0.47' }),
};
