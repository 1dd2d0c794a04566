import { ProviderError } from '../../errors/provider-error.js';
import type { RerankOptionsV1, RerankResultV1, RerankingModelV1 } from '../../spec/rerank/reranking-model-v1.js';
import { emptyUsage } from '../../spec/usage.js';
import { countTokens } from './local-embedding-model.js';
import type { LocalRuntime, TensorLike } from './local-runtime.js';

export const LOCAL_MAX_DOCUMENTS_PER_CALL = 1000;
/** Pairs per forward pass: bounds padding and memory; other calls get the lane between batches. */
export const LOCAL_RERANK_BATCH_SIZE = 16;

export interface LocalRerankingModelOptions {
  batchSize?: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Relevance in [0, 1] from a cross-encoder's logits: sigmoid of the single logit (ms-marco, bge
 * rerankers), or the softmax probability of the last label for two-label heads.
 */
export function relevanceScores(logits: TensorLike): number[] {
  const [batch, labels] = logits.dims;
  if (batch === undefined || labels === undefined || logits.dims.length !== 2) {
    throw new Error(`expected logits of shape [batch, labels], got [${logits.dims.join(', ')}]`);
  }
  const scores: number[] = [];
  for (let b = 0; b < batch; b++) {
    const row = Array.from({ length: labels }, (_, l) => Number(logits.data[b * labels + l]));
    if (labels === 1) scores.push(sigmoid(row[0]!));
    else scores.push(sigmoid(row[labels - 1]! - Math.log(row.slice(0, -1).reduce((sum, x) => sum + Math.exp(x), 0))));
  }
  return scores;
}

export class LocalRerankingModel implements RerankingModelV1 {
  readonly specificationVersion = 'v1' as const;
  /** Counted from the tokenizer. */
  readonly billedIn = 'tokens' as const;
  readonly provider: string;
  readonly maxDocumentsPerCall = LOCAL_MAX_DOCUMENTS_PER_CALL;
  private readonly batchSize: number;

  constructor(
    readonly modelId: string,
    private readonly runtime: LocalRuntime,
    options: LocalRerankingModelOptions = {},
  ) {
    this.provider = runtime.config.provider;
    this.batchSize = Math.max(1, options.batchSize ?? LOCAL_RERANK_BATCH_SIZE);
  }

  async doRerank(options: RerankOptionsV1): Promise<RerankResultV1> {
    const { query, documents, topN, abortSignal } = options;
    if (documents.length > this.maxDocumentsPerCall) {
      throw new ProviderError({
        code: 'provider_bad_request',
        provider: this.provider,
        message: `Too many documents for one rerank call: ${documents.length} > ${this.maxDocumentsPerCall}.`,
      });
    }
    if (topN !== undefined && (!Number.isInteger(topN) || topN < 1)) {
      throw new ProviderError({ code: 'provider_bad_request', provider: this.provider, message: `topN must be a positive integer, got ${topN}.` });
    }
    const scores: number[] = [];
    let inputTokens = 0;
    for (let start = 0; start < documents.length; start += this.batchSize) {
      const batch = documents.slice(start, start + this.batchSize);
      const result = await this.runtime.withModel(
        'reranking',
        this.modelId,
        async (model) => {
          const inputs = model.tokenize(batch.map(() => query), batch);
          const outputs = await model.forward(inputs);
          if (!outputs.logits) throw new Error(`the model has no logits output (outputs: ${Object.keys(outputs).join(', ')})`);
          return { scores: relevanceScores(outputs.logits), tokens: countTokens(inputs.attention_mask) };
        },
        abortSignal,
      );
      scores.push(...result.scores);
      inputTokens += result.tokens;
    }
    const results = scores
      .map((relevanceScore, index) => ({ index, relevanceScore }))
      .sort((a, b) => b.relevanceScore - a.relevanceScore || a.index - b.index)
      .slice(0, topN ?? documents.length);
    return { results, usage: { ...emptyUsage(true), inputTokens }, responseModelId: this.modelId };
  }
}
