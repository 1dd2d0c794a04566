import { z } from 'zod';
import { OPENAI_COMPATIBLE_PRESET_NAMES, OPENAI_COMPATIBLE_PRESETS, type OpenAICompatiblePresetName } from '../providers/openai-compatible/openai-compatible-presets.js';
import { RegistryError } from './registry-error.js';

const headersSchema = z.record(z.string(), z.string()).optional();
const apiKey = z.string().min(1).optional();
/**
 * What this provider's base URL may reach besides public hosts (see safe-base-url.ts):
 * `allowLoopback` admits this host, `allowPrivateNetwork` loopback, private and link-local hosts.
 * Metadata endpoints stay refused either way.
 */
const egress = { allowPrivateNetwork: z.boolean().optional(), allowLoopback: z.boolean().optional() };

/** Hosted APIs with a fixed default URL: only the key is needed. */
const hosted = <T extends string>(type: T) => z.object({ type: z.literal(type), baseURL: z.string().url().optional(), apiKey, headers: headersSchema, ...egress });

const presetSchemas = OPENAI_COMPATIBLE_PRESET_NAMES.map((name) => hosted(name)) as {
  [K in OpenAICompatiblePresetName]: ReturnType<typeof hosted<K>>;
}[OpenAICompatiblePresetName][];

export const ProviderConfigSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('openai-compatible'),
    baseURL: z.string().url(),
    apiKey,
    headers: headersSchema,
    maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
    /** The server answers `encoding_format: "base64"` (vLLM, for example); default: only OpenAI's own API. */
    base64Embeddings: z.boolean().optional(),
    ...egress,
  }),
  hosted('anthropic'),
  z.object({
    type: z.literal('azure-openai'),
    /** `https://{resource}.openai.azure.com` */
    endpoint: z.string().url(),
    apiKey,
    apiVersion: z.string().min(1).optional(),
    headers: headersSchema,
    ...egress,
  }),
  hosted('gemini'),
  hosted('cohere'),
  hosted('voyage'),
  hosted('jina'),
  z.object({
    type: z.literal('tei'),
    baseURL: z.string().url(),
    apiKey,
    maxBatchSize: z.number().int().positive().optional(),
    headers: headersSchema,
    ...egress,
  }),
  hosted('ollama'),
  ...presetSchemas,
  // In-process transformers.js models (no key, no server): a models folder, or downloads from the hub.
  z.object({
    type: z.literal('local'),
    modelsDir: z.string().min(1).optional(),
    cacheDir: z.string().min(1).optional(),
    allowRemote: z.boolean().optional(),
    threads: z.number().int().positive().optional(),
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
export type ProviderType = ProviderConfig['type'];

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

interface EnvProvider {
  /** The key variable; absent for local servers that need none. */
  key?: string;
  /** The URL variable (base URL, or Azure's endpoint). */
  baseURL?: string;
  /** Builds the config from the values that are set, or returns undefined when this provider is not configured. */
  build(key: string | undefined, url: string | undefined, env: Record<string, string | undefined>): Record<string, unknown> | undefined;
}

const keyed = (type: string) => (key: string | undefined, url: string | undefined) =>
  key || url ? { type, ...(url && { baseURL: url }), ...(key && { apiKey: key }) } : undefined;

/**
 * Providers configured by their own environment variables, by provider name. The registry names
 * these variables when such a provider is used but not configured. Self-hosted servers (Ollama, TEI,
 * vLLM) usually sit on a private network, so their env entries set `allowPrivateNetwork`.
 */
export const WELL_KNOWN_PROVIDER_ENV: Record<string, EnvProvider> = {
  openai: {
    key: 'OPENAI_API_KEY',
    baseURL: 'OPENAI_BASE_URL',
    build: (key, url) => (key || url ? { type: 'openai-compatible', baseURL: url ?? OPENAI_DEFAULT_BASE_URL, ...(key && { apiKey: key }) } : undefined),
  },
  anthropic: { key: 'ANTHROPIC_API_KEY', baseURL: 'ANTHROPIC_BASE_URL', build: keyed('anthropic') },
  azure: {
    key: 'AZURE_OPENAI_API_KEY',
    baseURL: 'AZURE_OPENAI_ENDPOINT',
    // Azure needs both: the endpoint names the resource, the key authenticates to it.
    build: (key, url, env) =>
      key && url ? { type: 'azure-openai', endpoint: url, apiKey: key, ...(nonEmpty(env.AZURE_OPENAI_API_VERSION) && { apiVersion: nonEmpty(env.AZURE_OPENAI_API_VERSION) }) } : undefined,
  },
  gemini: { key: 'GEMINI_API_KEY', baseURL: 'GEMINI_BASE_URL', build: keyed('gemini') },
  cohere: { key: 'COHERE_API_KEY', baseURL: 'COHERE_BASE_URL', build: keyed('cohere') },
  voyage: { key: 'VOYAGE_API_KEY', baseURL: 'VOYAGE_BASE_URL', build: keyed('voyage') },
  jina: { key: 'JINA_API_KEY', baseURL: 'JINA_BASE_URL', build: keyed('jina') },
  ollama: { baseURL: 'OLLAMA_BASE_URL', build: (_key, url) => (url ? { type: 'ollama', baseURL: url, allowPrivateNetwork: true } : undefined) },
  tei: {
    key: 'TEI_API_KEY',
    baseURL: 'TEI_BASE_URL',
    build: (key, url) => (url ? { type: 'tei', baseURL: url, allowPrivateNetwork: true, ...(key && { apiKey: key }) } : undefined),
  },
  // In-process models: a folder of downloaded models (offline), and/or downloads from the hub on first use.
  local: {
    baseURL: 'QUIRE_LOCAL_MODELS_DIR',
    build: (_key, localDir, env) => {
      const localDownload = nonEmpty(env.QUIRE_LOCAL_MODELS_DOWNLOAD) === 'true';
      return localDir || localDownload ? { type: 'local', ...(localDir && { modelsDir: localDir }), ...(localDownload && { allowRemote: true }) } : undefined;
    },
  },
  ...Object.fromEntries(
    OPENAI_COMPATIBLE_PRESET_NAMES.map((name): [string, EnvProvider] => {
      const preset = OPENAI_COMPATIBLE_PRESETS[name];
      const baseURLEnv = 'baseURLEnv' in preset ? preset.baseURLEnv : undefined;
      if (preset.selfHosted) {
        return [name, { key: preset.apiKeyEnv, baseURL: baseURLEnv, build: (key, url) => (url ? { type: name, baseURL: url, allowPrivateNetwork: true, ...(key && { apiKey: key }) } : undefined) }];
      }
      // A hosted preset needs its key; a base URL alone (a proxy) is not enough to call it configured.
      return [name, { key: preset.apiKeyEnv, baseURL: baseURLEnv, build: (key, url) => (key ? { type: name, ...(url && { baseURL: url }), apiKey: key } : undefined) }];
    }),
  ),
};

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * Builds the providers configuration from the environment: `QUIRE_PROVIDERS_JSON` first (any
 * providers), then each well-known provider's own variables, which win for their own names. A base
 * URL without a key is accepted on purpose: local servers (Ollama, vLLM, TEI) need no key.
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
  for (const [name, entry] of Object.entries(WELL_KNOWN_PROVIDER_ENV)) {
    const built = entry.build(entry.key ? nonEmpty(env[entry.key]) : undefined, entry.baseURL ? nonEmpty(env[entry.baseURL]) : undefined, env);
    if (built) config[name] = built;
  }
  allowFromEnv(config, 'QUIRE_PROVIDERS_ALLOW_LOOPBACK', 'allowLoopback', nonEmpty(env.QUIRE_PROVIDERS_ALLOW_LOOPBACK));
  allowFromEnv(config, 'QUIRE_PROVIDERS_ALLOW_PRIVATE_NETWORK', 'allowPrivateNetwork', nonEmpty(env.QUIRE_PROVIDERS_ALLOW_PRIVATE_NETWORK));
  return parseProvidersConfig(config, 'environment variables');
}

/**
 * `QUIRE_PROVIDERS_ALLOW_LOOPBACK=openai,anthropic` lets those providers' base URLs point at this
 * host (a local proxy or fake in development), and `QUIRE_PROVIDERS_ALLOW_PRIVATE_NETWORK=openai`
 * at loopback, private and link-local hosts (a proxy or model server on the deployment's network):
 * the explicit forms of `"allowLoopback": true` and `"allowPrivateNetwork": true` for providers
 * configured by their environment variables (or by QUIRE_PROVIDERS_JSON).
 */
function allowFromEnv(config: Record<string, unknown>, variable: string, flag: 'allowLoopback' | 'allowPrivateNetwork', list: string | undefined): void {
  if (!list) return;
  for (const name of list.split(',').map((n) => n.trim()).filter(Boolean)) {
    const entry = config[name];
    if (typeof entry !== 'object' || entry === null) {
      throw new RegistryError('invalid_provider_config', `${variable} names "${name}", which is not a configured provider.`);
    }
    config[name] = { ...entry, [flag]: true };
  }
}

export function parseProvidersConfig(config: unknown, source = 'createModelRegistry'): ProvidersConfig {
  const parsed = ProvidersConfigSchema.safeParse(config);
  if (!parsed.success) {
    const text = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new RegistryError('invalid_provider_config', `Invalid provider configuration (from ${source}): ${text}.`, { cause: parsed.error });
  }
  return parsed.data;
}
