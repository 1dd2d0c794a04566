import type { FetchFunction } from '../shared/http.js';
import { createOpenAICompatible, type OpenAICompatibleProvider, type OpenAICompatibleSettings } from './openai-compatible-provider.js';

/** A vendor that speaks the OpenAI wire format, with what sets it apart (providers.md §9). */
export interface OpenAICompatiblePreset {
  /** Default base URL including the version segment. */
  baseURL: string;
  /** Variable that holds the key, read by `providersFromEnv`. */
  apiKeyEnv: string;
  /** Variable that overrides the base URL, if any. */
  baseURLEnv?: string;
  /** Self-hosted servers live on private networks, so the SSRF guard must let them through. */
  selfHosted: boolean;
  quirks: Pick<OpenAICompatibleSettings, 'maxTokensField' | 'seedField' | 'streamUsageOption'>;
  /** What else differs, for whoever reads the config; the shared adapter already handles these. */
  notes: string;
}

export const OPENAI_COMPATIBLE_PRESETS = {
  deepseek: {
    baseURL: 'https://api.deepseek.com',
    apiKeyEnv: 'DEEPSEEK_API_KEY',
    selfHosted: false,
    quirks: {},
    notes: 'reasoning_content deltas; cache hits in prompt_cache_hit_tokens; keep-alive comments and blank lines while queued; 402 = balance.',
  },
  qwen: {
    baseURL: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1',
    apiKeyEnv: 'DASHSCOPE_API_KEY',
    baseURLEnv: 'DASHSCOPE_BASE_URL',
    selfHosted: false,
    quirks: {},
    notes: 'DashScope compatible mode; keys are regional (Beijing: https://dashscope.aliyuncs.com/compatible-mode/v1); reasoning_content with content null.',
  },
  mistral: {
    baseURL: 'https://api.mistral.ai/v1',
    apiKeyEnv: 'MISTRAL_API_KEY',
    selfHosted: false,
    quirks: { seedField: 'random_seed', streamUsageOption: false },
    notes: 'rejects stream_options and seed as extra inputs; usage rides on the final chunk.',
  },
  groq: {
    baseURL: 'https://api.groq.com/openai/v1',
    apiKeyEnv: 'GROQ_API_KEY',
    selfHosted: false,
    quirks: {},
    notes: 'final stream usage under x_groq.usage; requests limit header is per day.',
  },
  together: {
    baseURL: 'https://api.together.xyz/v1',
    apiKeyEnv: 'TOGETHER_API_KEY',
    selfHosted: false,
    quirks: {},
    notes: 'usage on the final chunk; model ids contain slashes (meta-llama/...).',
  },
  vllm: {
    baseURL: 'http://localhost:8000/v1',
    apiKeyEnv: 'VLLM_API_KEY',
    baseURLEnv: 'VLLM_BASE_URL',
    selfHosted: true,
    quirks: {},
    notes: 'model must equal the served name; usage chunk may omit choices; older versions send flat {object:"error"} bodies.',
  },
} as const satisfies Record<string, OpenAICompatiblePreset>;

export type OpenAICompatiblePresetName = keyof typeof OPENAI_COMPATIBLE_PRESETS;

export const OPENAI_COMPATIBLE_PRESET_NAMES = Object.keys(OPENAI_COMPATIBLE_PRESETS) as OpenAICompatiblePresetName[];

export function isOpenAICompatiblePreset(name: string): name is OpenAICompatiblePresetName {
  return Object.hasOwn(OPENAI_COMPATIBLE_PRESETS, name);
}

export interface OpenAICompatiblePresetSettings {
  /** Provider name in errors and usage; defaults to the preset name. */
  name?: string;
  baseURL?: string;
  apiKey?: string;
  headers?: Record<string, string>;
  fetch?: FetchFunction;
}

/** The shared OpenAI-compatible adapter with a vendor's defaults and quirks switched on. */
export function createOpenAICompatiblePreset(preset: OpenAICompatiblePresetName, settings: OpenAICompatiblePresetSettings = {}): OpenAICompatibleProvider {
  const defaults: OpenAICompatiblePreset = OPENAI_COMPATIBLE_PRESETS[preset];
  return createOpenAICompatible({
    maxTokensField: 'max_tokens',
    ...defaults.quirks,
    name: settings.name ?? preset,
    baseURL: settings.baseURL ?? defaults.baseURL,
    apiKey: settings.apiKey,
    headers: settings.headers,
    fetch: settings.fetch,
  });
}
