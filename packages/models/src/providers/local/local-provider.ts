import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import {
  localEmbeddingModelOptionsSchema,
  type LocalEmbeddingModelId,
  type LocalEmbeddingModelOptions,
  type LocalRerankingModelId,
} from './local-embedding-model-options.js';
import { LocalEmbeddingModel } from './local-embedding-model.js';
import { LocalRerankingModel } from './local-reranking-model.js';
import { LocalRuntime } from './local-runtime.js';

export const localSettingsSchema = z.object({
  /** Provider name used in errors and usage (default `local`). */
  name: z.string().min(1).optional(),
  /**
   * Folder holding one sub-folder per model id (`<modelsDir>/Xenova/bge-small-en-v1.5/onnx/model.onnx`).
   * When set, models load only from there unless `allowRemote` is also true.
   */
  modelsDir: z.string().min(1).optional(),
  /** Where hub downloads are cached (default `$QUIRE_DATA_DIR/models`, `./.quire/models`). */
  cacheDir: z.string().min(1).optional(),
  /** Download missing models from the Hugging Face hub on first use (default: only when no modelsDir). */
  allowRemote: z.boolean().optional(),
  /** onnxruntime threads per inference (default: cores - 1, at least 1, leaving one for the services). */
  threads: z.number().int().positive().optional(),
  /** Per-model overrides of pooling, prefixes and batch size, keyed by model id. */
  embeddingModels: z.record(z.string(), localEmbeddingModelOptionsSchema).optional(),
});

export type LocalSettings = z.input<typeof localSettingsSchema>;

export interface LocalProvider {
  readonly name: string;
  embeddingModel(modelId: LocalEmbeddingModelId, options?: LocalEmbeddingModelOptions): EmbeddingModelV1;
  rerankingModel(modelId: LocalRerankingModelId): RerankingModelV1;
}

/**
 * In-process embeddings and cross-encoder reranking through transformers.js (ONNX on CPU), for
 * deployments without API keys. Models are loaded once per provider on first use.
 */
export function createLocal(settings: LocalSettings = {}): LocalProvider {
  const parsed = localSettingsSchema.parse(settings);
  const name = parsed.name ?? 'local';
  const modelsDir = parsed.modelsDir !== undefined ? resolve(parsed.modelsDir) : undefined;
  const runtime = new LocalRuntime({
    provider: name,
    modelsDir,
    cacheDir: resolve(parsed.cacheDir ?? join(process.env.QUIRE_DATA_DIR ?? '.quire', 'models')),
    allowRemote: parsed.allowRemote ?? modelsDir === undefined,
    threads: parsed.threads ?? Math.max(1, availableParallelism() - 1),
  });
  // The runtime loads each model once, so model objects are cheap and need no cache of their own.
  return {
    name,
    embeddingModel: (modelId, options) => new LocalEmbeddingModel(modelId, runtime, { ...parsed.embeddingModels?.[modelId], ...options }),
    rerankingModel: (modelId) => new LocalRerankingModel(modelId, runtime),
  };
}
