import { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { GenerationModelV1 } from '../../spec/generation/generation-model-v1.js';
import { joinURL, mergeHeaders, type FetchFunction } from '../shared/http.js';
import { GeminiChatModel } from './gemini-chat-model.js';
import { GeminiEmbeddingModel } from './gemini-embedding-model.js';

export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta';

export const geminiSettingsSchema = z.object({
  name: z.string().min(1).default('gemini'),
  baseURL: z.string().url().default(GEMINI_DEFAULT_BASE_URL),
  apiKey: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  fetch: z.custom<FetchFunction>((value) => typeof value === 'function').optional(),
});

export type GeminiSettings = z.input<typeof geminiSettingsSchema>;

export interface GeminiConfig {
  provider: string;
  /** `{baseURL}/models/{model}:{method}`; `method` may carry a query (`streamGenerateContent?alt=sse`). */
  modelURL(modelId: string, method: string): string;
  fetch?: FetchFunction;
  headers(callHeaders?: Record<string, string>): Record<string, string>;
}

export interface GeminiProvider {
  readonly name: string;
  chatModel(modelId: string): GenerationModelV1;
  embeddingModel(modelId: string): EmbeddingModelV1;
}

export function createGemini(settings: GeminiSettings = {}): GeminiProvider {
  const parsed = geminiSettingsSchema.parse(settings);
  const config: GeminiConfig = {
    provider: parsed.name,
    // Model ids are accepted with or without the `models/` prefix.
    modelURL: (modelId, method) => joinURL(parsed.baseURL, `models/${encodeURIComponent(modelId.replace(/^models\//, ''))}:${method}`),
    fetch: parsed.fetch,
    // The key goes in a header (as the SDK sends it), never in the URL where logs would keep it.
    headers: (callHeaders) => mergeHeaders(parsed.headers, callHeaders, { 'x-goog-api-key': parsed.apiKey }),
  };
  return {
    name: parsed.name,
    chatModel: (modelId) => new GeminiChatModel(modelId, config),
    embeddingModel: (modelId) => new GeminiEmbeddingModel(modelId.replace(/^models\//, ''), config),
  };
}
