import type { GatewayModels } from '@quire/gateway-client';
import { emptyUsage } from '@quire/models';

/**
 * The retrieval benches' models: query embeddings looked up from vectors made beforehand, so a
 * measured search pays no embedding work; any other model is a mistake in the bench.
 */
export function precomputedModels(vectors: Map<string, number[]>): GatewayModels {
  const unused = () => {
    throw new Error('not used by the benchmark');
  };
  return {
    embeddingModel: (name) => ({
      specificationVersion: 'v1',
      provider: 'fake',
      modelId: name,
      maxEmbeddingsPerCall: 1,
      doEmbed: async ({ values }) => ({ embeddings: values.map((v) => vectors.get(v)!), usage: emptyUsage() }),
    }),
    generationModel: unused,
    rerankingModel: unused,
  };
}
