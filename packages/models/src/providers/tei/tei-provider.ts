import { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import type { FetchFunction } from '../shared/http.js';
import { createHttpProviderConfig, type HttpProviderConfig } from '../shared/http-provider.js';
import { TeiEmbeddingModel } from './tei-embedding-model.js';
import { TeiRerankingModel } from './tei-reranking-model.js';

export const teiSettingsSchema = z.object({
  name: z.string().min(1).default('tei'),
  /** The server root, e.g. `http://tei:8080` (routes are `/embed` and `/rerank`). A TEI server serves one model. */
  baseURL: z.string().url(),
  /** Only when the server was started with `--api-key`. */
  apiKey: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  /**
   * TEI rejects batches above its `--max-client-batch-size` (default 32) with 413; set this to the
   * server's value so embedMany splits accordingly.
   */
  maxBatchSize: z.number().int().positive().default(32),
  fetch: z.custom<FetchFunction>((value) => typeof value === 'function').optional(),
});

export type TeiSettings = z.input<typeof teiSettingsSchema>;

export interface TeiConfig extends HttpProviderConfig {
  maxBatchSize: number;
  /**
   * The width of each model's vectors, learnt from its first answer (or from a one-word probe when the
   * first call asks for `dimensions`): TEI has no `dimensions`, so a request for another width is
   * refused before its inputs are sent (and a route tries its next target).
   */
  widths: Map<string, number>;
}

export interface TeiProvider {
  readonly name: string;
  /** The model id is informational: the server decides which model runs. */
  embeddingModel(modelId: string): EmbeddingModelV1;
  rerankingModel(modelId: string): RerankingModelV1;
}

export function createTei(settings: TeiSettings): TeiProvider {
  const parsed = teiSettingsSchema.parse(settings);
  const config: TeiConfig = { ...createHttpProviderConfig(parsed), maxBatchSize: parsed.maxBatchSize, widths: new Map() };
  return {
    name: parsed.name,
    embeddingModel: (modelId) => new TeiEmbeddingModel(modelId, config),
    rerankingModel: (modelId) => new TeiRerankingModel(modelId, config),
  };
}
