import type { RerankBillingV1 } from '@quire/models';
import type { ModelCatalog } from '../model-service.js';
import type { RerankBillingOf } from './cost-estimate.js';

/** How many rerank names' billing is kept before the cache starts over. */
export const RERANK_BILLING_CACHE_SIZE = 10_000;

/**
 * What each rerank model reports its usage in (its `billedIn`), read once per name: budgets count a
 * rerank call priced only when its price covers that. Only a reranker that was built is kept: a name
 * the registry cannot build one for says nothing (the call fails before anything is spent), and
 * callers may send any number of such names. Names are the caller's too, so the cache starts over
 * when full rather than stop keeping new ones: the names in use come back after one build each.
 */
export function rerankBillingOf(catalog: Pick<ModelCatalog, 'rerankingModel'>, size = RERANK_BILLING_CACHE_SIZE): RerankBillingOf {
  const known = new Map<string, RerankBillingV1>();
  return (name) => {
    const cached = known.get(name);
    if (cached) return cached;
    let billing: RerankBillingV1;
    try {
      billing = catalog.rerankingModel(name).billedIn;
    } catch {
      return undefined;
    }
    if (known.size >= size) known.clear();
    known.set(name, billing);
    return billing;
  };
}
