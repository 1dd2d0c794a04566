import { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { GenerationModelV1 } from '../../spec/generation/generation-model-v1.js';
import { mergeHeaders, type FetchFunction } from '../shared/http.js';
import { OpenAICompatibleChatModel } from './openai-compatible-chat-model.js';
import { OpenAICompatibleEmbeddingModel } from './openai-compatible-embedding-model.js';

export const openAICompatibleSettingsSchema = z.object({
  /** Provider name used in errors and usage, e.g. `openai`, `deepseek`, `local`. */
  name: z.string().min(1),
  /** Base URL including the version segment, e.g. `https://api.openai.com/v1`. */
  baseURL: z.string().url(),
  apiKey: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  /**
   * OpenAI's reasoning models reject `max_tokens`; many compatible servers only know it. Defaults to
   * `max_completion_tokens` for the provider named `openai` and `max_tokens` for everyone else.
   */
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
  /** Mistral calls the sampling seed `random_seed`. */
  seedField: z.enum(['seed', 'random_seed']).optional(),
  /**
   * Whether streams ask for `stream_options.include_usage` (default true). Mistral rejects the field
   * and reports usage on the final chunk anyway.
   */
  streamUsageOption: z.boolean().optional(),
  /**
   * Whether the server answers `encoding_format: "base64"` for embeddings (OpenAI and Azure do; so do vLLM
   * and Quire's own gateway). Defaults to true only for OpenAI's own API (api.openai.com): a server behind
   * OPENAI_BASE_URL may not know the field. Servers not marked are always asked for floats.
   */
  base64Embeddings: z.boolean().optional(),
  fetch: z.custom<FetchFunction>((value) => typeof value === 'function').optional(),
});

export type OpenAICompatibleSettings = z.input<typeof openAICompatibleSettingsSchema>;

/** What the model classes need from their provider; built once per provider. */
export interface OpenAICompatibleConfig {
  provider: string;
  baseURL: string;
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  seedField: 'seed' | 'random_seed';
  streamUsageOption: boolean;
  /** The server can send embeddings as base64 (asked for only when the caller prefers it). */
  base64Embeddings: boolean;
  /** Response header with the request id (default `x-request-id`; Azure's gateway sends `apim-request-id`). */
  requestIdHeader?: string;
  /** Where a call goes; defaults to `{baseURL}/{path}`. Azure's classic form puts the deployment in the path. */
  url?(path: 'chat/completions' | 'embeddings', modelId: string): string;
  fetch?: FetchFunction;
  /** Settings headers, then per-call headers, then auth last so a call can never replace the key. */
  headers(callHeaders?: Record<string, string>): Record<string, string>;
}

export interface OpenAICompatibleProvider {
  readonly name: string;
  chatModel(modelId: string): GenerationModelV1;
  embeddingModel(modelId: string): EmbeddingModelV1;
}

export function createOpenAICompatible(settings: OpenAICompatibleSettings): OpenAICompatibleProvider {
  const parsed = openAICompatibleSettingsSchema.parse(settings);
  const config: OpenAICompatibleConfig = {
    provider: parsed.name,
    baseURL: parsed.baseURL,
    maxTokensField: parsed.maxTokensField ?? (parsed.name === 'openai' ? 'max_completion_tokens' : 'max_tokens'),
    seedField: parsed.seedField ?? 'seed',
    streamUsageOption: parsed.streamUsageOption ?? true,
    base64Embeddings: parsed.base64Embeddings ?? new URL(parsed.baseURL).hostname === 'api.openai.com',
    fetch: parsed.fetch,
    headers: (callHeaders) =>
      mergeHeaders(parsed.headers, callHeaders, parsed.apiKey ? { authorization: `Bearer ${parsed.apiKey}` } : undefined),
  };
  return openAICompatibleProviderFromConfig(parsed.name, config);
}

/** The model classes behind a ready config, so dialects that differ only in URLs and headers (Azure) reuse them. */
export function openAICompatibleProviderFromConfig(name: string, config: OpenAICompatibleConfig): OpenAICompatibleProvider {
  return {
    name,
    chatModel: (modelId) => new OpenAICompatibleChatModel(modelId, config),
    embeddingModel: (modelId) => new OpenAICompatibleEmbeddingModel(modelId, config),
  };
}
