import { pricedFrom, type PriceCatalog } from './model-price.js';

/**
 * Gemini Developer API, paid tier. Output includes thinking tokens. `cachedInput` is the implicit
 * (context) cache read rate; cache storage per hour is not metered here. Pro models charge more
 * above 200K prompt tokens; this is the lower band.
 *
 * Several prices are introductory and change on a known date (`validUntil`): Gemini 4 Argon and
 * Carbon go to $4 / $20 (cached $0.20) on 2026-12-01, Gemini 3.8 Flash to $1.50 / $7.50 on
 * 2027-01-01.
 *
 * Left out: gemini-3.6-flash and gemini-3.7-flash (sources disagree on whether the promotional
 * half price still applies), gemini-3.1-flash-lite (no price found), live, image and video models.
 */
const gemini = pricedFrom('https://ai.google.dev/gemini-api/docs/pricing');

export const GEMINI_PRICES: PriceCatalog = {
  'gemini/gemini-4-carbon': gemini('2026-11-11', { input: '2', cachedInput: '0.10', output: '10', validUntil: '2026-11-30' }),
  'gemini/gemini-4-argon': gemini('2026-10-13', { input: '2', cachedInput: '0.10', output: '10', validUntil: '2026-11-30' }),
  'gemini/gemini-4-neon': gemini('2026-11-22', { input: '3', cachedInput: '0.15', output: '15' }),
  'gemini/gemini-4-hydrogen': gemini('2026-11-22', { input: '1.50', cachedInput: '0.075', output: '7.50' }),
  'gemini/gemini-3.8-flash': gemini('2026-10-07', { input: '0.75', cachedInput: '0.075', output: '3.75', validUntil: '2026-12-31' }),
  'gemini/gemini-3.5-flash': gemini('2026-10-07', { input: '1.50', cachedInput: '0.15', output: '9' }),
  'gemini/gemini-3.5-flash-lite': gemini('2026-10-07', { input: '0.30', cachedInput: '0.03', output: '2.50' }),
  'gemini/gemini-3.1-pro-preview': gemini('2026-10-07', { input: '2', cachedInput: '0.20', output: '12' }),
  // Still on the pricing page on 2026-10-07, past their announced earliest shutdown dates.
  'gemini/gemini-2.5-pro': gemini('2026-10-07', { input: '1.25', cachedInput: '0.125', output: '10', status: 'deprecated' }),
  'gemini/gemini-2.5-flash': gemini('2026-10-07', { input: '0.30', cachedInput: '0.03', output: '2.50', status: 'deprecated' }),
  'gemini/gemini-2.5-flash-lite': gemini('2026-10-07', { input: '0.10', cachedInput: '0.01', output: '0.40', status: 'deprecated' }),
  // Text input rate; image, audio and video inputs cost more.
  'gemini/gemini-embedding-2': gemini('2026-10-07', { input: '0.20', output: '0' }),
  'gemini/gemini-embedding-001': gemini('2026-10-07', { input: '0.15', output: '0', status: 'legacy' }),
};
