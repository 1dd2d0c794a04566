import { z } from 'zod';
import type { GenerationModelV1 } from '../../spec/generation/generation-model-v1.js';
import { mergeHeaders, type FetchFunction } from '../shared/http.js';
import { AnthropicChatModel } from './anthropic-chat-model.js';

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com/v1';
/** The only version the Messages API has; the official SDK always sends it. */
export const ANTHROPIC_VERSION = '2023-06-01';

export const anthropicSettingsSchema = z.object({
  name: z.string().min(1).default('anthropic'),
  baseURL: z.string().url().default(ANTHROPIC_DEFAULT_BASE_URL),
  apiKey: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  fetch: z.custom<FetchFunction>((value) => typeof value === 'function').optional(),
});

export type AnthropicSettings = z.input<typeof anthropicSettingsSchema>;

export interface AnthropicConfig {
  provider: string;
  baseURL: string;
  fetch?: FetchFunction;
  headers(callHeaders?: Record<string, string>): Record<string, string>;
}

export interface AnthropicProvider {
  readonly name: string;
  chatModel(modelId: string): GenerationModelV1;
}

export function createAnthropic(settings: AnthropicSettings = {}): AnthropicProvider {
  const parsed = anthropicSettingsSchema.parse(settings);
  const config: AnthropicConfig = {
    provider: parsed.name,
    baseURL: parsed.baseURL,
    fetch: parsed.fetch,
    headers: (callHeaders) =>
      mergeHeaders(parsed.headers, callHeaders, {
        'anthropic-version': ANTHROPIC_VERSION,
        'x-api-key': parsed.apiKey,
      }),
  };
  return { name: parsed.name, chatModel: (modelId) => new AnthropicChatModel(modelId, config) };
}
