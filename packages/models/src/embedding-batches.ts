/**
 * How a caller cuts texts into embedding calls: each call holds at most `maxInputs` texts and at most
 * `maxTokens` estimated tokens, so a batch is split before a provider refuses it (OpenAI: 2,048 inputs
 * and 300,000 tokens a request; Voyage: 120K to 1M tokens by model; Mistral: 16,384 tokens; TEI and
 * local models: 32 inputs by default). Shared by `embedMany`, the gateway's `/v1/embeddings` and
 * ingestion, so all three split the same way.
 */

/**
 * Added to every text: special tokens (BOS/EOS, CLS/SEP), SentencePiece's leading marker, and the
 * retrieval prompt a provider prepends for `inputType: 'document'` (Voyage's is about 8 tokens).
 */
export const PER_INPUT_TOKEN_OVERHEAD = 16;

/**
 * A token count that no provider's tokenizer exceeds: the text's UTF-8 bytes, plus the overhead.
 *
 * Why bytes, not cl100k_base: a route may end at Voyage, Cohere, Gemini or Mistral, whose tokenizers
 * are not cl100k, and some split every digit into its own token, so a cl100k count can fall well
 * short of theirs. Every tokenizer they use (byte-level BPE, SentencePiece with byte fallback,
 * WordPiece) gives each token at least one byte of the text, so bytes bound them all. And it is
 * cheap: js-tiktoken counts about 0.6 MB/s, `Buffer.byteLength` over 200 MB/s. The price is
 * over-counting English about 4×, which matters only for long texts: 96 chunks of 1,000 characters
 * still fit a 100,000-token budget in one call.
 */
export function estimateEmbeddingTokens(text: string): number {
  return Buffer.byteLength(text, 'utf8') + PER_INPUT_TOKEN_OVERHEAD;
}

export interface EmbeddingBatchLimits {
  /** Texts per call (below 1 counts as 1). */
  maxInputs: number;
  /** Estimated tokens per call, summed over its texts (`Infinity` for no cap). */
  maxTokens: number;
}

/** A model's own caps as batch limits: `maxEmbeddingsPerCall` and, where it declares one, `maxTokensPerCall`. */
export function embeddingBatchLimitsOf(model: { maxEmbeddingsPerCall: number; maxTokensPerCall?: number | undefined }): EmbeddingBatchLimits {
  return { maxInputs: model.maxEmbeddingsPerCall, maxTokens: model.maxTokensPerCall ?? Infinity };
}

/**
 * The end (exclusive) of the batch that starts at `start`: texts are taken in order while both
 * limits hold. A text that alone exceeds `maxTokens` still goes, alone: it cannot be split here, and
 * the provider may truncate it (Voyage and Cohere do by default) or refuse it clearly.
 */
export function embeddingBatchEnd(tokens: readonly number[], start: number, limits: EmbeddingBatchLimits): number {
  const maxInputs = Math.max(1, Math.floor(limits.maxInputs));
  let end = start;
  let sum = 0;
  while (end < tokens.length && end - start < maxInputs) {
    const next = tokens[end]!;
    if (end > start && sum + next > limits.maxTokens) break;
    sum += next;
    end++;
  }
  return end;
}

/** Every batch as `[start, end)`, in order; consecutive and covering all texts (none for no texts). */
export function planEmbeddingBatches(tokens: readonly number[], limits: EmbeddingBatchLimits): [number, number][] {
  const batches: [number, number][] = [];
  for (let start = 0; start < tokens.length; ) {
    const end = embeddingBatchEnd(tokens, start, limits);
    batches.push([start, end]);
    start = end;
  }
  return batches;
}
