import { pricedFrom, type PriceCatalog } from './model-price.js';

/**
 * OpenAI, Standard tier, prompts up to 272K input tokens. Read from the model pages under
 * developers.openai.com/api/docs/models and corroborated by dated copies of the pricing page.
 * From GPT-5.6 on, OpenAI bills 30-minute cache writes at 1.25x input (the model pages state the
 * rule); earlier models do not bill writes separately.
 *
 * Left out: gpt-5.6-sol (its promotional $4/$20 ran "at least through 2026-11-21" and no later rate
 * was found), gpt-4o, o3, o4-mini (no current listing found), the -fast/-ultrafast variants.
 */
const openai = pricedFrom('https://developers.openai.com/api/docs/pricing');

export const OPENAI_PRICES: PriceCatalog = {
  // GPT-6.2, released 2026-11-17.
  'openai/gpt-6.2-astra': openai('2026-11-18', { input: '8', cachedInput: '0.40', cacheWrite: '10', output: '40' }),
  'openai/gpt-6.2-sol': openai('2026-11-18', { input: '2', cachedInput: '0.10', cacheWrite: '2.50', output: '10' }),
  'openai/gpt-6.1-terra': openai('2026-10-27', { input: '1', cachedInput: '0.05', cacheWrite: '1.25', output: '5' }),
  'openai/gpt-6.1-sol': openai('2026-10-01', { input: '2', cachedInput: '0.10', cacheWrite: '2.50', output: '10' }),
  'openai/gpt-6-astra': openai('2026-09-05', { input: '10', cachedInput: '1', cacheWrite: '12.50', output: '50' }),
  'openai/gpt-6-sol': openai('2026-09-22', { input: '2', cachedInput: '0.20', cacheWrite: '2.50', output: '10' }),
  'openai/gpt-6-luna': openai('2026-09-22', { input: '0.10', cachedInput: '0.01', cacheWrite: '0.125', output: '0.50' }),
  // GPT-5.6 after the 2026-07-30 cuts (permanent for Terra and Luna).
  'openai/gpt-5.6-terra': openai('2026-09-24', { input: '2', cachedInput: '0.20', cacheWrite: '2.50', output: '12' }),
  'openai/gpt-5.6-luna': openai('2026-09-24', { input: '0.20', cachedInput: '0.02', cacheWrite: '0.25', output: '1.20' }),
  'openai/gpt-5.5': openai('2026-05-04', { input: '5', cachedInput: '0.50', output: '30', status: 'legacy' }),
  'openai/gpt-5.5-pro': openai('2026-05-04', { input: '30', output: '180', status: 'legacy' }),
  'openai/gpt-5.4': openai('2026-05-04', { input: '2.50', cachedInput: '0.25', output: '15', status: 'legacy' }),
  'openai/gpt-5.4-mini': openai('2026-05-04', { input: '0.75', cachedInput: '0.075', output: '4.50', status: 'legacy' }),
  'openai/gpt-5.4-nano': openai('2026-05-04', { input: '0.20', cachedInput: '0.02', output: '1.25', status: 'legacy' }),
  'openai/gpt-5.4-pro': openai('2026-05-04', { input: '30', output: '180', status: 'legacy' }),
  'openai/gpt-5': openai('2026-09-05', { input: '1.25', cachedInput: '0.125', output: '10', status: 'deprecated' }),
  'openai/gpt-5-mini': openai('2026-09-05', { input: '0.25', cachedInput: '0.025', output: '2', status: 'deprecated' }),
  'openai/gpt-5-nano': openai('2026-09-05', { input: '0.05', cachedInput: '0.005', output: '0.40', status: 'deprecated' }),
  // Still on the pricing page read on 2026-11-05 (cached input at a quarter / half of input).
  'openai/gpt-4.1': openai('2026-11-05', { input: '2', cachedInput: '0.50', output: '8', status: 'legacy' }),
  'openai/gpt-4.1-mini': openai('2026-11-05', { input: '0.40', cachedInput: '0.10', output: '1.60', status: 'legacy' }),
  'openai/gpt-4.1-nano': openai('2026-11-05', { input: '0.10', cachedInput: '0.025', output: '0.40', status: 'legacy' }),
  'openai/gpt-4o-mini': openai('2026-11-05', { input: '0.15', cachedInput: '0.075', output: '0.60', status: 'legacy' }),
  // Model page copy that post-dates GPT-6 Luna's launch (2026-09-22).
  'openai/text-embedding-3-small': openai('2026-09-22', { input: '0.02', output: '0' }),
  'openai/text-embedding-3-large': openai('2026-09-22', { input: '0.13', output: '0' }),
};
