import type { Identity } from '@quire/contracts';

/**
 * How much of the caller's budget is used, as a fraction (0.8 = 80 %), or null when the caller has
 * no budget. Routes with a `downgrade` ask it per request; the governance work implements budgets.
 */
export interface BudgetProbe {
  usedFraction(identity: Identity): Promise<number | null>;
}

/** No budgets yet: never downgrades. */
export const NO_BUDGETS: BudgetProbe = {
  usedFraction: async () => null,
};
