import { z } from 'zod';
import type { EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import type { GenerationModelV1 } from '../../spec/generation/generation-model-v1.js';
import { openAICompatibleProviderFromConfig } from '../openai-compatible/openai-compatible-provider.js';
import { joinURL, mergeHeaders, type FetchFunction } from '../shared/http.js';

/** A GA inference version of the classic deployment API (providers.md §3.1). */
export const AZURE_OPENAI_DEFAULT_API_VERSION = '2024-10-21';

export const azureOpenAISettingsSchema = z.object({
  name: z.string().min(1).default('azure'),
  /** The resource endpoint, e.g. `https://my-resource.openai.azure.com` (no `/openai` suffix). */
  endpoint: z.string().url(),
  apiKey: z.string().min(1).optional(),
  /**
   * A dated version selects the classic form (`/openai/deployments/{deployment}/...?api-version=`);
   * `v1` selects the v1 form (`/openai/v1/...`, deployment in the body's `model`).
   */
  apiVersion: z.string().min(1).default(AZURE_OPENAI_DEFAULT_API_VERSION),
  headers: z.record(z.string(), z.string()).optional(),
  /** Azure follows OpenAI: reasoning deployments reject `max_tokens`. */
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).default('max_completion_tokens'),
  fetch: z.custom<FetchFunction>((value) => typeof value === 'function').optional(),
});

export type AzureOpenAISettings = z.input<typeof azureOpenAISettingsSchema>;

export interface AzureOpenAIProvider {
  readonly name: string;
  /** `deployment` is the Azure deployment name, which selects the model. */
  chatModel(deployment: string): GenerationModelV1;
  embeddingModel(deployment: string): EmbeddingModelV1;
}

/**
 * Azure OpenAI speaks the OpenAI wire format, so this reuses the OpenAI-compatible model classes and
 * changes only where requests go and how they authenticate (`api-key`, not a Bearer key).
 */
export function createAzureOpenAI(settings: AzureOpenAISettings): AzureOpenAIProvider {
  const parsed = azureOpenAISettingsSchema.parse(settings);
  const root = joinURL(parsed.endpoint, 'openai');
  const v1 = parsed.apiVersion === 'v1';
  const version = encodeURIComponent(parsed.apiVersion);
  return openAICompatibleProviderFromConfig(parsed.name, {
    provider: parsed.name,
    baseURL: v1 ? joinURL(root, 'v1') : root,
    maxTokensField: parsed.maxTokensField,
    seedField: 'seed',
    streamUsageOption: true,
    base64Embeddings: true,
    requestIdHeader: 'apim-request-id',
    url: v1 ? undefined : (path, deployment) => `${joinURL(root, `deployments/${encodeURIComponent(deployment)}/${path}`)}?api-version=${version}`,
    fetch: parsed.fetch,
    headers: (callHeaders) => mergeHeaders(parsed.headers, callHeaders, { 'api-key': parsed.apiKey }),
  });
}
