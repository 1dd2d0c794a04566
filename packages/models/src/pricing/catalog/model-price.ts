/**
 * One model's list price in USD, as decimal strings so that no price is ever a float. Token prices
 * are per million tokens; `searchUnit` is per unit.
 *
 * - `cachedInput`: cache reads (OpenAI "cached input", Anthropic "cache hits", Gemini implicit cache).
 *   Falls back to `input`.
 * - `cacheWrite`: the shortest-lived cache write the vendor sells (Anthropic 5 minutes, OpenAI 30
 *   minutes). UsageV1 does not split writes by retention, so longer writes (Anthropic 1 hour, OpenAI
 *   12 hours, both 2x input) are under-priced; override per deployment if you use them. Falls back
 *   to `input`, which is right for vendors that do not bill writes separately.
 * - Standard tier: no batch, flex, priority or fast-mode prices and no long-context surcharges
 *   (OpenAI above 272K input, Gemini Pro above 200K, Claude Haiku 5.5 above 100K).
 */
export interface ModelPrice {
  input: string;
  cachedInput?: string;
  cacheWrite?: string;
  output: string;
  searchUnit?: string;
  /** ISO date of the source the numbers were read from. */
  asOf: string;
  /** The vendor's pricing page (or self-hosted marker). */
  source: string;
  /**
   * Set when the vendor no longer lists the model as current but still bills it: `legacy` (kept
   * available, no retirement date) or `deprecated` (a retirement date is announced).
   */
  status?: 'legacy' | 'deprecated';
  /**
   * Last day the vendor guarantees this price (introductory or promotional rates, or a retirement
   * date); after it the entry must be re-checked.
   */
  validUntil?: string;
}

export type PriceCatalog = Record<string, ModelPrice>;

type PriceFields = Omit<ModelPrice, 'asOf' | 'source'>;

/** Entries for one vendor page: `price(asOf, fields)`. */
export const pricedFrom =
  (source: string) =>
  (asOf: string, fields: PriceFields): ModelPrice => ({ ...fields, asOf, source });
