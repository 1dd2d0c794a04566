import { pricedFrom, type PriceCatalog } from './model-price.js';

/**
 * Anthropic (Claude API), standard tier. `cacheWrite` is the 5-minute write; 1-hour writes cost
 * more (see ModelPrice). Read from the pricing table and model pages on platform.claude.com,
 * corroborated by dated re-checks of that page (2026-10-24) and, for Fable 5.2, by a reseller's
 * list-price notice of 2026-11-10.
 *
 * Claude Haiku 5.5 is priced in two bands; this is the band for prompts up to 100K tokens (longer
 * prompts bill every token of the request at 5x).
 *
 * Left out (retired on the Claude API): claude-opus-4-1, claude-opus-4-0, claude-sonnet-4-0,
 * claude-3-7-sonnet, claude-3-5-haiku.
 */
const anthropic = pricedFrom('https://platform.claude.com/docs/en/about-claude/pricing');

export const ANTHROPIC_PRICES: PriceCatalog = {
  'anthropic/claude-fable-5-2': anthropic('2026-11-10', { input: '8', cacheWrite: '10', cachedInput: '0.20', output: '40' }),
  'anthropic/claude-fable-5-1': anthropic('2026-10-24', { input: '10', cacheWrite: '12.50', cachedInput: '0.25', output: '50' }),
  // Limited availability (verified organisations only); same prices as the matching Fable.
  'anthropic/claude-mythos-5-1': anthropic('2026-10-24', { input: '10', cacheWrite: '12.50', cachedInput: '0.25', output: '50' }),
  'anthropic/claude-opus-5-5': anthropic('2026-10-24', { input: '4', cacheWrite: '5', cachedInput: '0.20', output: '20' }),
  // Cache reads cut from $0.20 to $0.10 on 2026-10-07.
  'anthropic/claude-sonnet-5-5': anthropic('2026-10-24', { input: '2', cacheWrite: '2.50', cachedInput: '0.10', output: '10' }),
  'anthropic/claude-haiku-5-5': anthropic('2026-10-24', { input: '0.10', cacheWrite: '0.125', cachedInput: '0.01', output: '0.50' }),
  'anthropic/claude-fable-5': anthropic('2026-10-24', { input: '10', cacheWrite: '12.50', cachedInput: '1', output: '50', status: 'legacy' }),
  'anthropic/claude-mythos-5': anthropic('2026-10-24', { input: '10', cacheWrite: '12.50', cachedInput: '1', output: '50', status: 'legacy' }),
  'anthropic/claude-opus-5': anthropic('2026-10-24', { input: '5', cacheWrite: '6.25', cachedInput: '0.50', output: '25', status: 'legacy' }),
  'anthropic/claude-opus-4-8': anthropic('2026-10-24', { input: '5', cacheWrite: '6.25', cachedInput: '0.50', output: '25', status: 'legacy' }),
  'anthropic/claude-opus-4-7': anthropic('2026-10-24', { input: '5', cacheWrite: '6.25', cachedInput: '0.50', output: '25', status: 'legacy' }),
  'anthropic/claude-opus-4-6': anthropic('2026-10-24', { input: '5', cacheWrite: '6.25', cachedInput: '0.50', output: '25', status: 'legacy' }),
  'anthropic/claude-opus-4-5': anthropic('2026-10-24', { input: '5', cacheWrite: '6.25', cachedInput: '0.50', output: '25', status: 'legacy' }),
  'anthropic/claude-sonnet-5': anthropic('2026-10-24', { input: '2', cacheWrite: '2.50', cachedInput: '0.20', output: '10', status: 'legacy' }),
  'anthropic/claude-sonnet-4-6': anthropic('2026-10-24', { input: '3', cacheWrite: '3.75', cachedInput: '0.30', output: '15', status: 'legacy' }),
  'anthropic/claude-sonnet-4-5': anthropic('2026-10-24', {
    input: '3',
    cacheWrite: '3.75',
    cachedInput: '0.30',
    output: '15',
    status: 'deprecated',
    validUntil: '2026-11-30',
  }),
  'anthropic/claude-haiku-4-5': anthropic('2026-10-24', { input: '1', cacheWrite: '1.25', cachedInput: '0.10', output: '5', status: 'legacy' }),
};
