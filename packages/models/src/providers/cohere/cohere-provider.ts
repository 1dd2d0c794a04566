import type { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import { createHttpProviderConfig, httpProviderSettingsSchema, type HttpProviderConfig } from '../shared/http-provider.js';
import { CohereEmbeddingModel } from './cohere-embedding-model.js';
import { CohereRerankingModel } from './cohere-reranking-model.js';

/** Without a version segment: the v2 routes carry it (`/v2/embed`, `/v2/rerank`). */
export const COHERE_DEFAULT_BASE_URL = 'https://api.cohere.com';

export const cohereSettingsSchema = httpProviderSettingsSchema('cohere', COHERE_DEFAULT_BASE_URL);

export type CohereSettings = z.input<typeof cohereSettingsSchema>;

export type CohereConfig = HttpProviderConfig;

export interface CohereProvider {
  readonly name: string;
  embeddingModel(modelId: string): EmbeddingModelV1;
  rerankingModel(modelId: string): RerankingModelV1;
}

export function createCohere(settings: CohereSettings = {}): CohereProvider {
  const parsed = cohereSettingsSchema.parse(settings);
  const config: CohereConfig = createHttpProviderConfig(parsed);
  return {
    name: parsed.name,
    embeddingModel: (modelId) => new CohereEmbeddingModel(modelId, config),
    rerankingModel: (modelId) => new CohereRerankingModel(modelId, config),
  };
}
