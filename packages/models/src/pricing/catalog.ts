/**
 * List prices in USD, as decimal strings so that no price is ever a float. Token prices are per
 * million tokens; `searchUnit` is per unit. Keys are registry names (`provider/model`).
 *
 * - `cachedInput`: cache reads (OpenAI "cached input", Anthropic "cache hits"). Falls back to `input`.
 * - `cacheWrite`: Anthropic's 5-minute cache write rate. UsageV1 does not split writes by TTL, so
 *   1-hour writes (2x input) are under-priced by this catalog; override per deployment if used.
 *   OpenAI does not bill writes separately, so it has none (falls back to `input`).
 * - Standard tier, no batch or priority discounts, no long-context surcharges.
 *
 * Checked on `asOf` against the pages in `source` (Anthropic: the pricing table on
 * platform.claude.com; OpenAI: list prices as published on its pricing page and corroborated by
 * third-party copies of it). Update an entry's `asOf` whenever its numbers are re-checked.
 */
export interface ModelPrice {
  input: string;
  cachedInput?: string;
  cacheWrite?: string;
  output: string;
  searchUnit?: string;
  /** ISO date the price was last checked. */
  asOf: string;
  source: string;
}

export type PriceCatalog = Record<string, ModelPrice>;

const OPENAI_SOURCE = 'https://platform.openai.com/docs/pricing';
const ANTHROPIC_SOURCE = 'https://platform.claude.com/docs/en/about-claude/pricing';
const AS_OF = '2026-11-25';

const openai = (input: string, cachedInput: string | undefined, output: string): ModelPrice => ({
  input,
  ...(cachedInput !== undefined && { cachedInput }),
  output,
  asOf: AS_OF,
  source: OPENAI_SOURCE,
});

const anthropic = (input: string, cacheWrite: string, cachedInput: string, output: string): ModelPrice => ({
  input,
  cachedInput,
  cacheWrite,
  output,
  asOf: AS_OF,
  source: ANTHROPIC_SOURCE,
});

export const PRICE_CATALOG: PriceCatalog = {
  'openai/gpt-4o': openai('2.50', '1.25', '10.00'),
  'openai/gpt-4o-mini': openai('0.15', '0.075', '0.60'),
  'openai/gpt-4.1': openai('2.00', '0.50', '8.00'),
  'openai/gpt-4.1-mini': openai('0.40', '0.10', '1.60'),
  'openai/gpt-4.1-nano': openai('0.10', '0.025', '0.40'),
  'openai/gpt-5': openai('1.25', '0.125', '10.00'),
  'openai/gpt-5-mini': openai('0.25', '0.025', '2.00'),
  'openai/gpt-5-nano': openai('0.05', '0.005', '0.40'),
  'openai/o3': openai('2.00', '0.50', '8.00'),
  'openai/o4-mini': openai('1.10', '0.275', '4.40'),
  'openai/text-embedding-3-small': openai('0.02', undefined, '0'),
  'openai/text-embedding-3-large': openai('0.13', undefined, '0'),
  'anthropic/claude-opus-4-1': anthropic('15', '18.75', '1.50', '75'),
  'anthropic/claude-sonnet-4-5': anthropic('3', '3.75', '0.30', '15'),
  'anthropic/claude-haiku-4-5': anthropic('1', '1.25', '0.10', '5'),
  'anthropic/claude-3-5-haiku': anthropic('0.80', '1', '0.08', '4'),
};
