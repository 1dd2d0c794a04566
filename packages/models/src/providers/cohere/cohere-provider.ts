import { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import { mergeHeaders, type FetchFunction } from '../shared/http.js';
import { CohereEmbeddingModel } from './cohere-embedding-model.js';
import { CohereRerankingModel } from './cohere-reranking-model.js';

/** Without a version segment: the v2 routes carry it (`/v2/embed`, `/v2/rerank`). */
export const COHERE_DEFAULT_BASE_URL = 'https://api.cohere.com';

export const cohereSettingsSchema = z.object({
  name: z.string().min(1).default('cohere'),
  baseURL: z.string().url().default(COHERE_DEFAULT_BASE_URL),
  apiKey: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  fetch: z.custom<FetchFunction>((value) => typeof value === 'function').optional(),
});

export type CohereSettings = z.input<typeof cohereSettingsSchema>;

export interface CohereConfig {
  provider: string;
  baseURL: string;
  fetch?: FetchFunction;
  headers(callHeaders?: Record<string, string>): Record<string, string>;
}

export interface CohereProvider {
  readonly name: string;
  embeddingModel(modelId: string): EmbeddingModelV1;
  rerankingModel(modelId: string): RerankingModelV1;
}

export function createCohere(settings: CohereSettings = {}): CohereProvider {
  const parsed = cohereSettingsSchema.parse(settings);
  const config: CohereConfig = {
    provider: parsed.name,
    baseURL: parsed.baseURL,
    fetch: parsed.fetch,
    headers: (callHeaders) => mergeHeaders(parsed.headers, callHeaders, parsed.apiKey ? { authorization: `Bearer ${parsed.apiKey}` } : undefined),
  };
  return {
    name: parsed.name,
    embeddingModel: (modelId) => new CohereEmbeddingModel(modelId, config),
    rerankingModel: (modelId) => new CohereRerankingModel(modelId, config),
  };
}
