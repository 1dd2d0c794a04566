import { emptyUsage, type RerankingModelV1 } from '@quire/models';
import { rerankBillingOf } from './rerank-billing.js';

/** A catalog whose rerankers are any `cohere/...` name (searchUnits) or `voyage/...` (tokens); anything else fails to build. */
function catalog() {
  const builds: string[] = [];
  const rerankingModel = (name: string): RerankingModelV1 => {
    builds.push(name);
    const provider = name.slice(0, name.indexOf('/'));
    if (provider !== 'cohere' && provider !== 'voyage') throw new Error(`Unknown provider "${provider}"`);
    return {
      specificationVersion: 'v1', provider, modelId: name, maxDocumentsPerCall: 100, billedIn: provider === 'cohere' ? 'searchUnits' : 'tokens',
      doRerank: async () => ({ results: [], usage: emptyUsage() }),
    };
  };
  return { builds, rerankingModel };
}

test('a name is built once, and answers what its reranker is billed in', () => {
  const c = catalog();
  const billingOf = rerankBillingOf(c);
  expect([billingOf('cohere/rerank-v3.5'), billingOf('cohere/rerank-v3.5'), billingOf('voyage/rerank-2')]).toEqual(['searchUnits', 'searchUnits', 'tokens']);
  expect(c.builds).toEqual(['cohere/rerank-v3.5', 'voyage/rerank-2']);
});

test('names that build no reranker say nothing and are not kept: any number of them leaves the cache to the real ones', () => {
  const c = catalog();
  const billingOf = rerankBillingOf(c, 100);
  expect(billingOf('junk/0')).toBeUndefined();
  for (let i = 0; i < 1000; i++) billingOf(`junk/${i}`);
  c.builds.length = 0;
  expect([billingOf('cohere/rerank-v3.5'), billingOf('cohere/rerank-v3.5'), billingOf('cohere/rerank-v3.5')]).toEqual(['searchUnits', 'searchUnits', 'searchUnits']);
  expect(c.builds).toEqual(['cohere/rerank-v3.5']);
});

test('when the cache is full of names that built, it starts over instead of building every new name on every call', () => {
  const c = catalog();
  const billingOf = rerankBillingOf(c, 100);
  for (let i = 0; i < 250; i++) billingOf(`cohere/junk-${i}`);
  c.builds.length = 0;
  for (let i = 0; i < 5; i++) billingOf('voyage/rerank-2');
  expect(c.builds).toEqual(['voyage/rerank-2']);
});
