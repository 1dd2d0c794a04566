import { z } from 'zod';
import { RegistryError } from './registry-error.js';

const headersSchema = z.record(z.string(), z.string()).optional();

export const ProviderConfigSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('openai-compatible'),
    baseURL: z.string().url(),
    apiKey: z.string().min(1).optional(),
    headers: headersSchema,
  }),
  z.object({
    type: z.literal('anthropic'),
    baseURL: z.string().url().optional(),
    apiKey: z.string().min(1).optional(),
    headers: headersSchema,
  }),
]);

/** Provider name -> how to reach it. Names are what appears before the slash in `provider/model`. */
export const ProvidersConfigSchema = z.record(z.string(), ProviderConfigSchema).superRefine((config, ctx) => {
  for (const name of Object.keys(config)) {
    if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'provider names are letters, digits, ".", "_" or "-" (no slash)' });
    }
  }
});

export type ProviderConfig = z.infer<typeof ProviderConfigSchema>;
export type ProvidersConfig = z.infer<typeof ProvidersConfigSchema>;

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** Providers configured by their own environment variables; the registry names them in its errors. */
export const WELL_KNOWN_PROVIDER_ENV: Record<string, { key: string; baseURL: string }> = {
  openai: { key: 'OPENAI_API_KEY', baseURL: 'OPENAI_BASE_URL' },
  anthropic: { key: 'ANTHROPIC_API_KEY', baseURL: 'ANTHROPIC_BASE_URL' },
};

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * Builds the providers configuration from the environment: `QUIRE_PROVIDERS_JSON` first (any
 * providers), then `OPENAI_*` and `ANTHROPIC_*`, which win for their own names. A base URL without a
 * key is accepted on purpose: local servers (Ollama, vLLM) need no key.
 */
export function providersFromEnv(env: Record<string, string | undefined> = process.env): ProvidersConfig {
  const config: Record<string, unknown> = {};
  const json = nonEmpty(env.QUIRE_PROVIDERS_JSON);
  if (json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (cause) {
      throw new RegistryError('invalid_provider_config', 'QUIRE_PROVIDERS_JSON is not valid JSON.', { cause });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new RegistryError('invalid_provider_config', 'QUIRE_PROVIDERS_JSON must be a JSON object of provider name -> settings.');
    }
    Object.assign(config, parsed);
  }
  const openaiKey = nonEmpty(env.OPENAI_API_KEY);
  const openaiURL = nonEmpty(env.OPENAI_BASE_URL);
  if (openaiKey || openaiURL) {
    config.openai = { type: 'openai-compatible', baseURL: openaiURL ?? OPENAI_DEFAULT_BASE_URL, ...(openaiKey && { apiKey: openaiKey }) };
  }
  const anthropicKey = nonEmpty(env.ANTHROPIC_API_KEY);
  const anthropicURL = nonEmpty(env.ANTHROPIC_BASE_URL);
  if (anthropicKey || anthropicURL) {
    config.anthropic = { type: 'anthropic', ...(anthropicURL && { baseURL: anthropicURL }), ...(anthropicKey && { apiKey: anthropicKey }) };
  }
  return parseProvidersConfig(config, 'environment variables');
}

export function parseProvidersConfig(config: unknown, source = 'createModelRegistry'): ProvidersConfig {
  const parsed = ProvidersConfigSchema.safeParse(config);
  if (!parsed.success) {
    const text = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new RegistryError('invalid_provider_config', `Invalid provider configuration (from ${source}): ${text}.`, { cause: parsed.error });
  }
  return parsed.data;
}
