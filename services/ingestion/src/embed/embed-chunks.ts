import type { GatewayCallContext, GatewayModels } from '@quire/gateway-client';
import { embeddingBatchEnd, estimateEmbeddingTokens } from '@quire/models';
import { DEFAULT_LIMITS } from '../limits.js';
import { withinDeadline } from './call-deadline.js';
import type { ProviderLimiter } from './provider-semaphore.js';
import { readCachedEmbeddings, recordEmbeddingUses, writeCachedEmbeddings, type EmbeddingCache } from './embedding-cache.js';

export class EmbeddingValidationError extends Error {
  override name = 'EmbeddingValidationError';
  constructor(
    readonly code: 'embedding_invalid' | 'dimension_mismatch',
    message: string,
  ) {
    super(message);
  }
}

export interface EmbedChunksInput {
  models: GatewayModels;
  modelName: string;
  /** What to embed for each chunk: `embeddingInput(chunk)`, its context (if any) above its text. */
  texts: string[];
  /** SHA-256 of each of `texts` (`chunks.content_sha256`): the embedding cache key together with the team, the model and the requested dimension. */
  hashes: string[];
  /**
   * Set: vectors are read from and written to `embedding_cache`, under the team billed for the calls
   * (embedding-cache.ts); with a `documentId`, the document's uses of the texts are recorded first.
   */
  cache?: EmbeddingCache;
  limiter?: ProviderLimiter;
  /** Builds the call context per batch, so a long job signs a fresh identity token each time. */
  context: () => GatewayCallContext;
  /** The dimension the index version already fixed, or the one the collection asked for. */
  expectedDimensions: number | null;
  /** Ask the model to shorten its vectors (only when the collection set embedding_dimensions). */
  requestDimensions?: number;
  batchCap: number;
  /**
   * Estimated tokens per call (`estimateEmbeddingTokens` in @quire/models), further capped by the model's `maxTokensPerCall`.
   * Defaults to `DEFAULT_LIMITS.embedBatchMaxTokens`, so callers that predate the setting still split.
   */
  batchMaxTokens?: number;
  /**
   * After each step: `embedded` texts have a vector so far, `cached` of them from the cache (reported
   * first, before any provider call); the rest came from the provider.
   */
  onBatch: (embedded: number, cached: number) => Promise<void>;
  /**
   * Aborted: no further batch starts, and the call in flight is given the signal to cancel it; the
   * embedding throws the signal's reason. A job aborts it once it no longer owns its document.
   */
  signal?: AbortSignal;
  /** The longest one provider call may take (see call-deadline.ts); default `DEFAULT_LIMITS.embedCallTimeoutMs`. */
  callTimeoutMs?: number;
}

export interface EmbedChunksResult {
  vectors: number[][];
  dimensions: number;
  /** Texts actually sent to the provider (cache misses, each distinct text once). */
  providerTexts: number;
  /** Set when every vector is in `embedding_cache` under this key (looked up by each text's hash). */
  cached?: { model: string; requestedDimensions: number; teamId: string };
}

/** Vectors as pgvector text literals; 9 significant digits round-trip a float4 exactly (shorter to send and parse than 17). */
export const vectorLiterals = (values: number[][]) => values.map((x) => `[${x.map((f) => Math.fround(f).toPrecision(9)).join(',')}]`);

function check(vector: unknown, index: number, dimensions: number | null): number[] {
  if (!Array.isArray(vector) || vector.length === 0 || !vector.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new EmbeddingValidationError('embedding_invalid', `The model returned a vector with non-finite values for chunk ${index}.`);
  }
  if (dimensions !== null && vector.length !== dimensions) {
    throw new EmbeddingValidationError('dimension_mismatch', `The model returned ${vector.length} dimensions for chunk ${index}; the index expects ${dimensions}.`);
  }
  return vector as number[];
}

/**
 * Embeds in order, in batches within the model's `maxEmbeddingsPerCall` and `maxTokensPerCall` (each
 * capped by the caller's limit, tokens estimated from bytes), and checks every
 * vector before anything is written: a NaN or a short vector would poison the index silently.
 * Identical texts (by hash) are embedded once, and vectors the same team already has cached for this
 * model are reused, so re-embedding after a retry, a replacement or an index rebuild costs no provider call.
 */
export async function embedChunks(input: EmbedChunksInput): Promise<EmbedChunksResult> {
  const reqDims = input.requestDimensions ?? 0;
  // Before the read: from here a delete of another document keeps the rows this reads and writes,
  // and deleting this one takes them (embedding-cache.ts).
  if (input.cache?.documentId) await recordEmbeddingUses({ ...input.cache, documentId: input.cache.documentId }, input.hashes);
  const byHash = input.cache ? await readCachedEmbeddings(input.cache, input.modelName, reqDims, input.hashes) : new Map<string, number[]>();
  let dimensions = input.expectedDimensions ?? byHash.values().next().value?.length ?? null;
  const missing: { hash: string; text: string; index: number }[] = [];
  const queued = new Set<string>();
  input.hashes.forEach((hash, index) => {
    if (!byHash.has(hash) && !queued.has(hash)) {
      queued.add(hash);
      missing.push({ hash, text: input.texts[index]!, index });
    }
  });
  const cachedCount = input.texts.length - input.hashes.filter((h) => !byHash.has(h)).length;
  if (cachedCount > 0) await input.onBatch(cachedCount, cachedCount);
  const semaphore = input.limiter?.forModel(input.modelName);
  const tokens = missing.map((m) => estimateEmbeddingTokens(m.text));
  const tokenCap = input.batchMaxTokens ?? DEFAULT_LIMITS.embedBatchMaxTokens;
  for (let i = 0; i < missing.length; ) {
    input.signal?.throwIfAborted();
    const model = input.models.embeddingModel(input.modelName, input.context());
    const end = embeddingBatchEnd(tokens, i, {
      maxInputs: Math.min(model.maxEmbeddingsPerCall || 1, input.batchCap),
      maxTokens: Math.min(model.maxTokensPerCall ?? Infinity, tokenCap),
    });
    const batch = missing.slice(i, end);
    // A stopped job leaves the wait for a provider slot (which may be long) rather than queueing on;
    // the call checks the signal again in case it aborted just as the slot came free.
    const call = () =>
      withinDeadline(
        (abortSignal) =>
          model.doEmbed({
            values: batch.map((b) => b.text),
            inputType: 'document',
            ...(input.requestDimensions ? { dimensions: input.requestDimensions } : {}),
            abortSignal,
          }),
        {
          ...(input.signal ? { signal: input.signal } : {}),
          timeoutMs: input.callTimeoutMs ?? DEFAULT_LIMITS.embedCallTimeoutMs,
          provider: model.provider,
          what: `Embedding ${batch.length} texts with ${input.modelName}`,
        },
      );
    const result = semaphore ? await semaphore.run(call, input.signal ? { signal: input.signal } : {}) : await call();
    if (result.embeddings.length !== batch.length) {
      throw new EmbeddingValidationError('embedding_invalid', `The model returned ${result.embeddings.length} vectors for ${batch.length} texts.`);
    }
    batch.forEach((b, k) => {
      const vector = check(result.embeddings[k], b.index, dimensions);
      dimensions ??= vector.length;
      byHash.set(b.hash, vector);
    });
    if (input.cache) {
      await writeCachedEmbeddings(input.cache, input.modelName, reqDims, batch.map((b) => b.hash), vectorLiterals(batch.map((b) => byHash.get(b.hash)!)));
    }
    i += batch.length;
    const done = new Set(missing.slice(0, i).map((m) => m.hash));
    await input.onBatch(cachedCount + input.hashes.filter((h) => done.has(h)).length, cachedCount);
  }
  const vectors = input.hashes.map((hash, index) => check(byHash.get(hash), index, dimensions));
  return {
    vectors,
    dimensions: dimensions ?? 0,
    providerTexts: missing.length,
    ...(input.cache ? { cached: { model: input.modelName, requestedDimensions: reqDims, teamId: input.cache.teamId } } : {}),
  };
}
