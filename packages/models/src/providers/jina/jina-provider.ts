import type { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import { createHttpProviderConfig, httpProviderSettingsSchema, type HttpProviderConfig } from '../shared/http-provider.js';
import { JinaEmbeddingModel } from './jina-embedding-model.js';
import { JinaRerankingModel } from './jina-reranking-model.js';

export const JINA_DEFAULT_BASE_URL = 'https://api.jina.ai/v1';

export const jinaSettingsSchema = httpProviderSettingsSchema('jina', JINA_DEFAULT_BASE_URL);

export type JinaSettings = z.input<typeof jinaSettingsSchema>;

export type JinaConfig = HttpProviderConfig;

export interface JinaProvider {
  readonly name: string;
  embeddingModel(modelId: string): EmbeddingModelV1;
  rerankingModel(modelId: string): RerankingModelV1;
}

export function createJina(settings: JinaSettings = {}): JinaProvider {
  const parsed = jinaSettingsSchema.parse(settings);
  const config: JinaConfig = createHttpProviderConfig(parsed);
  return {
    name: parsed.name,
    embeddingModel: (modelId) => new JinaEmbeddingModel(modelId, config),
    rerankingModel: (modelId) => new JinaRerankingModel(modelId, config),
  };
}
