import { localInferenceError, localLoadError } from './local-error.js';

/** The slice of a transformers.js Tensor we read: flat data plus dims. */
export interface TensorLike {
  data: ArrayLike<number | bigint>;
  dims: number[];
}

/** Tokenizer output, padded and truncated to one rectangular batch. */
export interface Encoded {
  input_ids: TensorLike;
  attention_mask: TensorLike;
  token_type_ids?: TensorLike;
}

export type LocalModelKind = 'embedding' | 'reranking';

export interface LoadedModel {
  /** `pairs` makes (text, pair) inputs for cross-encoders. Pads to the longest, truncates to the model's limit. */
  tokenize(texts: string[], pairs?: string[]): Encoded;
  forward(inputs: Encoded): Promise<Record<string, TensorLike>>;
}

export interface LocalRuntimeConfig {
  provider: string;
  /** Folder with `<model id>/config.json`, `tokenizer.json`, `onnx/model.onnx`, ... */
  modelsDir: string | undefined;
  /** Where hub downloads are cached. */
  cacheDir: string;
  allowRemote: boolean;
  /** onnxruntime intra-op threads per session. */
  threads: number;
}

type Transformers = typeof import('@huggingface/transformers');
type Callable = (...args: unknown[]) => unknown;

// Imported lazily: loading onnxruntime's native binding costs time and memory that services which
// never run a local model should not pay.
let transformers: Promise<Transformers> | undefined;
function loadTransformers(): Promise<Transformers> {
  transformers ??= import('@huggingface/transformers');
  return transformers;
}

/**
 * One lane for every local model in the process: inference is CPU-bound and onnxruntime already
 * spreads one run over `threads` cores, so running two at once only oversubscribes the machine.
 * Loads go through the lane too, because transformers.js reads its location settings from a global
 * `env` that two providers with different folders must not change under each other.
 */
let lane: Promise<unknown> = Promise.resolve();
export function inLane<T>(task: () => Promise<T>, abortSignal?: AbortSignal): Promise<T> {
  const run = async (): Promise<T> => {
    abortSignal?.throwIfAborted();
    return task();
  };
  const result = lane.then(run, run);
  lane = result.catch(() => undefined);
  return result;
}

/** Loads each model once per provider; a failed load is forgotten so the next call retries (after a download). */
export class LocalRuntime {
  private readonly models = new Map<string, Promise<LoadedModel>>();

  constructor(readonly config: LocalRuntimeConfig) {}

  /** Runs `task` with the loaded model inside the shared lane. */
  withModel<T>(kind: LocalModelKind, modelId: string, task: (model: LoadedModel) => Promise<T>, abortSignal?: AbortSignal): Promise<T> {
    return inLane(async () => {
      const model = await this.model(kind, modelId);
      try {
        return await task(model);
      } catch (error) {
        throw localInferenceError(this.config.provider, modelId, error);
      }
    }, abortSignal);
  }

  private model(kind: LocalModelKind, modelId: string): Promise<LoadedModel> {
    const key = `${kind}:${modelId}`;
    let loading = this.models.get(key);
    if (!loading) {
      loading = this.load(kind, modelId).catch((error: unknown) => {
        this.models.delete(key);
        throw localLoadError(this.config, kind, modelId, error);
      });
      this.models.set(key, loading);
    }
    return loading;
  }

  private async load(kind: LocalModelKind, modelId: string): Promise<LoadedModel> {
    const t = await loadTransformers();
    const { modelsDir, cacheDir, allowRemote, threads } = this.config;
    t.env.allowLocalModels = modelsDir !== undefined;
    if (modelsDir !== undefined) t.env.localModelPath = modelsDir.endsWith('/') ? modelsDir : `${modelsDir}/`;
    t.env.allowRemoteModels = allowRemote;
    t.env.cacheDir = cacheDir;
    const options = {
      dtype: 'fp32' as const,
      device: 'cpu' as const,
      session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
    };
    // The model first: its config.json is required, so a missing folder fails with "file not found"
    // rather than the tokenizer's confusing error about its (optional) config.
    const model = (kind === 'embedding'
      ? await t.AutoModel.from_pretrained(modelId, { ...options, cache_dir: cacheDir })
      : await t.AutoModelForSequenceClassification.from_pretrained(modelId, { ...options, cache_dir: cacheDir })) as unknown as Callable;
    const tokenizer = (await t.AutoTokenizer.from_pretrained(modelId, { cache_dir: cacheDir })) as unknown as Callable;
    return {
      tokenize: (texts, pairs) =>
        tokenizer(texts, { padding: true, truncation: true, ...(pairs && { text_pair: pairs }) }) as Encoded,
      forward: async (inputs) => (await model(inputs)) as Record<string, TensorLike>,
    };
  }
}
