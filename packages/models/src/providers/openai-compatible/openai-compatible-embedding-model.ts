import type { EmbedOptionsV1, EmbedResultV1, EmbeddingModelV1 } from '../../spec/embedding/embedding-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { badResponse, joinURL, postJson, readJson } from '../shared/http.js';
import { assertEmbeddingBatchSize } from '../shared/embedding-batch.js';
import { openAIEmbeddingResponseSchema } from './openai-compatible-api-types.js';
import type { OpenAICompatibleConfig } from './openai-compatible-provider.js';

/** OpenAI's documented per-request input limit. */
export const OPENAI_MAX_EMBEDDINGS_PER_CALL = 2048;

/**
 * Documented caps on the tokens summed over one request, by API host: OpenAI's 300,000 for every
 * embedding model, Mistral's 16,384 ("Too many tokens in batch"). Other servers behind this adapter
 * (vLLM, Ollama, a gateway) document none, so none is declared for them.
 */
const TOKENS_PER_CALL_BY_HOST: Readonly<Record<string, number>> = {
  'api.openai.com': 300_000,
  'api.mistral.ai': 16_384,
};

function maxTokensPerCallFor(baseURL: string): number | undefined {
  try {
    return TOKENS_PER_CALL_BY_HOST[new URL(baseURL).hostname];
  } catch {
    return undefined;
  }
}

/** Base64 embeddings are little-endian float32 (providers.md §2.1); DataView makes the byte order explicit. */
export function decodeBase64Embedding(value: string): number[] {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length % 4 !== 0) throw new Error(`base64 embedding has ${bytes.length} bytes, not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = new Array<number>(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

export class OpenAICompatibleEmbeddingModel implements EmbeddingModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;
  readonly maxEmbeddingsPerCall = OPENAI_MAX_EMBEDDINGS_PER_CALL;
  readonly maxTokensPerCall?: number;

  constructor(
    readonly modelId: string,
    private readonly config: OpenAICompatibleConfig,
  ) {
    this.provider = config.provider;
    const maxTokens = maxTokensPerCallFor(config.baseURL);
    if (maxTokens !== undefined) this.maxTokensPerCall = maxTokens;
  }

  async doEmbed(options: EmbedOptionsV1): Promise<EmbedResultV1> {
    assertEmbeddingBatchSize(this.provider, options.values.length, this.maxEmbeddingsPerCall);
    if (options.values.length === 0) return { embeddings: [], usage: emptyUsage(true) };
    const result = await postJson({
      provider: this.provider,
      url: this.config.url?.('embeddings', this.modelId) ?? joinURL(this.config.baseURL, 'embeddings'),
      headers: this.config.headers(options.headers),
      body: {
        model: this.modelId,
        input: options.values,
        encoding_format: options.encoding === 'base64' && this.config.base64Embeddings ? 'base64' : 'float',
        ...(options.dimensions !== undefined && { dimensions: options.dimensions }),
      },
      fetch: this.config.fetch,
      abortSignal: options.abortSignal,
      requestIdHeader: this.config.requestIdHeader ?? 'x-request-id',
    });
    const body = await readJson(this.provider, result, openAIEmbeddingResponseSchema, options.abortSignal);
    if (body.data.length !== options.values.length) {
      throw badResponse(this.provider, `expected ${options.values.length} embeddings, got ${body.data.length}.`, result.requestId);
    }
    const sorted = body.data.map((item, position) => ({ ...item, index: item.index ?? position })).sort((a, b) => a.index - b.index);
    let embeddings: number[][];
    try {
      embeddings = sorted.map((item) => (typeof item.embedding === 'string' ? decodeBase64Embedding(item.embedding) : item.embedding));
    } catch (error) {
      throw badResponse(this.provider, (error as Error).message, result.requestId, error);
    }
    const usage = body.usage
      ? { ...emptyUsage(true), inputTokens: body.usage.prompt_tokens ?? body.usage.total_tokens ?? 0 }
      : emptyUsage(false);
    return { embeddings, usage, requestId: result.requestId, responseModelId: body.model ?? undefined };
  }
}
