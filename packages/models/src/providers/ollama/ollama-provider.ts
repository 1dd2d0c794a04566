import { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { GenerationModelV1 } from '../../spec/generation/generation-model-v1.js';
import { mergeHeaders, type FetchFunction } from '../shared/http.js';
import { OllamaChatModel } from './ollama-chat-model.js';
import { OllamaEmbeddingModel } from './ollama-embedding-model.js';

/** The server root, without `/api` (the native routes are `/api/chat`, `/api/embed`). */
export const OLLAMA_DEFAULT_BASE_URL = 'http://localhost:11434';

export const ollamaSettingsSchema = z.object({
  name: z.string().min(1).default('ollama'),
  baseURL: z.string().url().default(OLLAMA_DEFAULT_BASE_URL),
  /** Only for remote or cloud setups behind a Bearer token; a local server needs none. */
  apiKey: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  fetch: z.custom<FetchFunction>((value) => typeof value === 'function').optional(),
});

export type OllamaSettings = z.input<typeof ollamaSettingsSchema>;

export interface OllamaConfig {
  provider: string;
  baseURL: string;
  fetch?: FetchFunction;
  headers(callHeaders?: Record<string, string>): Record<string, string>;
}

export interface OllamaProvider {
  readonly name: string;
  chatModel(modelId: string): GenerationModelV1;
  embeddingModel(modelId: string): EmbeddingModelV1;
}

export function createOllama(settings: OllamaSettings = {}): OllamaProvider {
  const parsed = ollamaSettingsSchema.parse(settings);
  const config: OllamaConfig = {
    provider: parsed.name,
    baseURL: parsed.baseURL.replace(/\/api\/?$/, ''),
    fetch: parsed.fetch,
    headers: (callHeaders) => mergeHeaders(parsed.headers, callHeaders, parsed.apiKey ? { authorization: `Bearer ${parsed.apiKey}` } : undefined),
  };
  return {
    name: parsed.name,
    chatModel: (modelId) => new OllamaChatModel(modelId, config),
    embeddingModel: (modelId) => new OllamaEmbeddingModel(modelId, config),
  };
}
