import type { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import { createHttpProviderConfig, httpProviderSettingsSchema, type HttpProviderConfig } from '../shared/http-provider.js';
import { VoyageEmbeddingModel } from './voyage-embedding-model.js';
import { VoyageRerankingModel } from './voyage-reranking-model.js';

export const VOYAGE_DEFAULT_BASE_URL = 'https://api.voyageai.com/v1';

export const voyageSettingsSchema = httpProviderSettingsSchema('voyage', VOYAGE_DEFAULT_BASE_URL);

export type VoyageSettings = z.input<typeof voyageSettingsSchema>;

export type VoyageConfig = HttpProviderConfig;

export interface VoyageProvider {
  readonly name: string;
  embeddingModel(modelId: string): EmbeddingModelV1;
  rerankingModel(modelId: string): RerankingModelV1;
}

export function createVoyage(settings: VoyageSettings = {}): VoyageProvider {
  const parsed = voyageSettingsSchema.parse(settings);
  const config: VoyageConfig = createHttpProviderConfig(parsed);
  return {
    name: parsed.name,
    embeddingModel: (modelId) => new VoyageEmbeddingModel(modelId, config),
    rerankingModel: (modelId) => new VoyageRerankingModel(modelId, config),
  };
}
