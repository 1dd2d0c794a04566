import { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import { mergeHeaders, type FetchFunction } from '../shared/http.js';
import { VoyageEmbeddingModel } from './voyage-embedding-model.js';
import { VoyageRerankingModel } from './voyage-reranking-model.js';

export const VOYAGE_DEFAULT_BASE_URL = 'https://api.voyageai.com/v1';

export const voyageSettingsSchema = z.object({
  name: z.string().min(1).default('voyage'),
  baseURL: z.string().url().default(VOYAGE_DEFAULT_BASE_URL),
  apiKey: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  fetch: z.custom<FetchFunction>((value) => typeof value === 'function').optional(),
});

export type VoyageSettings = z.input<typeof voyageSettingsSchema>;

export interface VoyageConfig {
  provider: string;
  baseURL: string;
  fetch?: FetchFunction;
  headers(callHeaders?: Record<string, string>): Record<string, string>;
}

export interface VoyageProvider {
  readonly name: string;
  embeddingModel(modelId: string): EmbeddingModelV1;
  rerankingModel(modelId: string): RerankingModelV1;
}

export function createVoyage(settings: VoyageSettings = {}): VoyageProvider {
  const parsed = voyageSettingsSchema.parse(settings);
  const config: VoyageConfig = {
    provider: parsed.name,
    baseURL: parsed.baseURL,
    fetch: parsed.fetch,
    headers: (callHeaders) => mergeHeaders(parsed.headers, callHeaders, parsed.apiKey ? { authorization: `Bearer ${parsed.apiKey}` } : undefined),
  };
  return {
    name: parsed.name,
    embeddingModel: (modelId) => new VoyageEmbeddingModel(modelId, config),
    rerankingModel: (modelId) => new VoyageRerankingModel(modelId, config),
  };
}
