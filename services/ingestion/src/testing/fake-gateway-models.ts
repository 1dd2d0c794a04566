import { createHash } from 'node:crypto';
import type { GatewayCallContext, GatewayModels } from '@quire/gateway-client';
import type { EmbeddingModelV1 } from '@quire/models';

export interface EmbedCall {
  model: string;
  context: GatewayCallContext;
  values: string[];
}

/**
 * A deterministic synthetic embedder: hashed bag of words, L2-normalised, so similar texts get
 * similar vectors without any provider. Records every call; `failures` are thrown first, in order.
 */
export function createFakeGatewayModels(options: { dimensions?: number; maxEmbeddingsPerCall?: number; latencyMs?: number } = {}) {
  const dimensions = options.dimensions ?? 32;
  const calls: EmbedCall[] = [];
  const failures: unknown[] = [];
  // A word's hash is remembered: the fake stands for a remote provider, so its own CPU should not
  // weigh on the process it runs in (benchmarks share that process with Quire).
  const hashes = new Map<string, { slot: number; sign: number }>();
  const embed = (text: string, dims = dimensions): number[] => {
    const v = new Array<number>(dims).fill(0);
    for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
      let h = hashes.get(word);
      if (!h) {
        const digest = createHash('sha1').update(word).digest();
        h = { slot: digest.readUInt32BE(0), sign: digest[4]! % 2 === 0 ? 1 : -1 };
        if (hashes.size < 100_000) hashes.set(word, h);
      }
      v[h.slot % dims]! += h.sign;
    }
    const norm = Math.hypot(...v) || 1;
    return v.map((x) => x / norm);
  };
  const models: GatewayModels = {
    embeddingModel(name, context): EmbeddingModelV1 {
      return {
        specificationVersion: 'v1',
        provider: name.split('/')[0] ?? 'fake',
        modelId: name,
        maxEmbeddingsPerCall: options.maxEmbeddingsPerCall ?? 4,
        async doEmbed({ values, dimensions: asked }) {
          calls.push({ model: name, context, values });
          if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
          if (failures.length > 0) throw failures.shift();
          return {
            // Honours a requested dimension, like text-embedding-3 models do.
            embeddings: values.map((v) => embed(v, asked ?? dimensions)),
            usage: { inputTokens: values.join(' ').split(/\s+/).length, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true },
          };
        },
      };
    },
    generationModel() {
      throw new Error('the fake gateway serves embeddings only');
    },
    rerankingModel() {
      throw new Error('the fake gateway serves embeddings only');
    },
  };
  return { models, calls, failures, embed };
}
