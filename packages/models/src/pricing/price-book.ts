import type { UsageV1 } from '../spec/usage.js';
import { PRICE_CATALOG, UNPRICED_PROVIDERS, type ModelPrice, type PriceCatalog } from './catalog.js';
import { costPerMillion, costPerUnit, formatTrimmed, isDecimalString, sumScaled } from './decimal.js';

export type CostResult = { costUsd: string; priced: true } | { costUsd: null; priced: false; warning: string };

export interface PriceBook {
  /** The price used for a model name, after alias resolution, or undefined. */
  priceOf(model: string): ModelPrice | undefined;
  costOf(model: string, usage: UsageV1): CostResult;
}

/** Costs are shown with at least nine fraction digits (one token at $0.001/M is 1e-9 USD). */
export const COST_MIN_SCALE = 9;

/**
 * Providers answer with dated snapshots (`gpt-4o-mini-2024-07-18`, `claude-haiku-4-5-20251001`) or
 * `-latest` aliases; those bill like the undated name, so we fall back to it.
 */
function undatedName(model: string): string | undefined {
  const stripped = model.replace(/-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/, '');
  return stripped === model ? undefined : stripped;
}

function noPriceWarning(model: string): string {
  const provider = model.split('/', 1)[0] ?? '';
  const reason = Object.hasOwn(UNPRICED_PROVIDERS, provider) ? UNPRICED_PROVIDERS[provider] : undefined;
  return `No price for model "${model}"; add it to the price catalog or overrides.${reason ? ` ${reason}` : ''}`;
}

function validate(model: string, price: ModelPrice): void {
  for (const field of ['input', 'cachedInput', 'cacheWrite', 'output', 'searchUnit'] as const) {
    const value = price[field];
    if (value !== undefined && (!isDecimalString(value) || value.startsWith('-'))) {
      throw new RangeError(`Price ${field} of "${model}" must be a non-negative decimal string, got "${value}".`);
    }
  }
}

export function createPriceBook(overrides: PriceCatalog = {}): PriceBook {
  const catalog: PriceCatalog = { ...PRICE_CATALOG, ...overrides };
  for (const [model, price] of Object.entries(catalog)) validate(model, price);

  // Own keys only: a model named "constructor" must not find Object.prototype's.
  const own = (name: string): ModelPrice | undefined => (Object.hasOwn(catalog, name) ? catalog[name] : undefined);
  const priceOf = (model: string): ModelPrice | undefined => {
    const undated = undatedName(model);
    return own(model) ?? (undated ? own(undated) : undefined);
  };

  return {
    priceOf,
    costOf(model, usage) {
      const price = priceOf(model);
      if (!price) return { costUsd: null, priced: false, warning: noPriceWarning(model) };
      if (usage.searchUnits > 0 && price.searchUnit === undefined) {
        return { costUsd: null, priced: false, warning: `Model "${model}" reported ${usage.searchUnits} search units but has no searchUnit price.` };
      }
      const counts = [usage.inputTokens, usage.outputTokens, usage.cachedInputTokens, usage.cacheWriteInputTokens, usage.searchUnits];
      if (!counts.every((n) => Number.isSafeInteger(n) && n >= 0)) {
        return { costUsd: null, priced: false, warning: `Usage for "${model}" has counts that are not non-negative integers.` };
      }
      const cached = usage.cachedInputTokens;
      const cacheWrite = usage.cacheWriteInputTokens;
      const uncached = usage.inputTokens - cached - cacheWrite;
      if (uncached < 0) {
        return {
          costUsd: null,
          priced: false,
          warning: `Usage for "${model}" is inconsistent: cached (${cached}) + cache-write (${cacheWrite}) tokens exceed input tokens (${usage.inputTokens}).`,
        };
      }
      const parts = [
        costPerMillion(uncached, price.input),
        costPerMillion(cached, price.cachedInput ?? price.input),
        costPerMillion(cacheWrite, price.cacheWrite ?? price.input),
        // outputTokens already includes reasoning tokens, which bill at the output rate.
        costPerMillion(usage.outputTokens, price.output),
        costPerUnit(usage.searchUnits, price.searchUnit ?? '0'),
      ];
      return { costUsd: formatTrimmed(sumScaled(parts), COST_MIN_SCALE), priced: true };
    },
  };
}
