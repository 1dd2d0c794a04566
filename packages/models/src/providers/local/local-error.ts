import { join } from 'node:path';
import { ProviderError } from '../../errors/provider-error.js';
import type { LocalModelKind, LocalRuntimeConfig } from './local-runtime.js';

/** Known-good ONNX exports, named in every "model missing" message so the fix is one copy-paste away. */
export const LOCAL_RECOMMENDED_MODELS = {
  embedding: 'Xenova/bge-small-en-v1.5',
  reranking: 'Xenova/ms-marco-MiniLM-L-6-v2',
} as const;

const MODEL_FILES = 'config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx';

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return (error.name === 'TypeError' && /fetch failed/i.test(error.message)) || (typeof code === 'string' && /^(ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN)$/.test(code));
}

function isMissingFile(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ModelFileNotFoundError' || /not found locally|could not locate file|ENOENT/i.test(error.message));
}

function howToInstall(config: LocalRuntimeConfig, kind: LocalModelKind, modelId: string): string {
  const folder = config.modelsDir ? join(config.modelsDir, modelId) : `<models folder>/${modelId}`;
  const recommended = LOCAL_RECOMMENDED_MODELS[kind];
  return (
    `Download https://huggingface.co/${modelId} (${MODEL_FILES}) into ${folder}` +
    (config.modelsDir ? '' : ' and set the provider\'s modelsDir (QUIRE_LOCAL_MODELS_DIR) to that models folder') +
    `. Recommended ${kind} model: ${recommended}.`
  );
}

/** Why a local model could not be loaded, and what to download where. */
export function localLoadError(config: LocalRuntimeConfig, kind: LocalModelKind, modelId: string, error: unknown): ProviderError {
  if (ProviderError.is(error)) return error;
  const base = { provider: config.provider, cause: error };
  if (isNetworkFailure(error)) {
    return new ProviderError({
      ...base,
      code: 'provider_not_configured',
      message:
        `Local ${kind} model "${modelId}" is not downloaded and the Hugging Face hub could not be reached (${describe(error)}). ` +
        howToInstall(config, kind, modelId),
    });
  }
  if (isMissingFile(error)) {
    const where = config.modelsDir ? `in ${join(config.modelsDir, modelId)}` : 'in the local cache';
    return new ProviderError({
      ...base,
      code: 'provider_model_not_found',
      message: `Local ${kind} model "${modelId}" was not found ${where}${config.allowRemote ? ' nor on the Hugging Face hub' : ''} (${describe(error)}). ${howToInstall(config, kind, modelId)}`,
    });
  }
  return new ProviderError({
    ...base,
    code: 'provider_bad_response',
    message: `Local ${kind} model "${modelId}" could not be loaded: ${describe(error)}. Check that the folder holds a complete ONNX export (${MODEL_FILES}).`,
  });
}

/** A failure while running an already loaded model (bad graph, wrong output names). */
export function localInferenceError(provider: string, modelId: string, error: unknown): unknown {
  if (ProviderError.is(error) || (error instanceof Error && error.name === 'AbortError')) return error;
  return new ProviderError({ provider, code: 'provider_server_error', message: `Local model "${modelId}" failed: ${describe(error)}.`, cause: error });
}
