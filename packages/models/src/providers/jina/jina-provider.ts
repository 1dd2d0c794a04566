import { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import { mergeHeaders, type FetchFunction } from '../shared/http.js';
import { JinaEmbeddingModel } from './jina-embedding-model.js';
import { JinaRerankingModel } from './jina-reranking-model.js';

export const JINA_DEFAULT_BASE_URL = 'https://api.jina.ai/v1';

export const jinaSettingsSchema = z.object({
  name: z.string().min(1).default('jina'),
  baseURL: z.string().url().default(JINA_DEFAULT_BASE_URL),
  apiKey: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  fetch: z.custom<FetchFunction>((value) => typeof value === 'function').optional(),
});

export type JinaSettings = z.input<typeof jinaSettingsSchema>;

export interface JinaConfig {
  provider: string;
  baseURL: string;
  fetch?: FetchFunction;
  headers(callHeaders?: Record<string, string>): Record<string, string>;
}

export interface JinaProvider {
  readonly name: string;
  embeddingModel(modelId: string): EmbeddingModelV1;
  rerankingModel(modelId: string): RerankingModelV1;
}

export function createJina(settings: JinaSettings = {}): JinaProvider {
  const parsed = jinaSettingsSchema.parse(settings);
  const config: JinaConfig = {
    provider: parsed.name,
    baseURL: parsed.baseURL,
    fetch: parsed.fetch,
    headers: (callHeaders) => mergeHeaders(parsed.headers, callHeaders, parsed.apiKey ? { authorization: `Bearer ${parsed.apiKey}` } : undefined),
  };
  return {
    name: parsed.name,
    embeddingModel: (modelId) => new JinaEmbeddingModel(modelId, config),
    rerankingModel: (modelId) => new JinaRerankingModel(modelId, config),
  };
}
