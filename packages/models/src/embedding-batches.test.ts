import { embeddingBatchEnd, embeddingBatchLimitsOf, estimateEmbeddingTokens, PER_INPUT_TOKEN_OVERHEAD, planEmbeddingBatches } from './embedding-batches.js';

describe('estimateEmbeddingTokens', () => {
  it('counts UTF-8 bytes plus the per-input overhead', () => {
    expect(estimateEmbeddingTokens('')).toBe(PER_INPUT_TOKEN_OVERHEAD);
    // é is 2 bytes, 東 3, the emoji 4.
    expect(estimateEmbeddingTokens('é東😀')).toBe(9 + PER_INPUT_TOKEN_OVERHEAD);
  });
});

describe('planEmbeddingBatches', () => {
  it('closes a batch at whichever limit comes first, in order, covering every text', () => {
    expect(planEmbeddingBatches([40, 40, 40, 10, 90, 5, 5, 1], { maxInputs: 10, maxTokens: 100 })).toEqual([[0, 2], [2, 4], [4, 7], [7, 8]]);
    expect(planEmbeddingBatches([1, 1, 1, 1, 1], { maxInputs: 2, maxTokens: 1_000 })).toEqual([[0, 2], [2, 4], [4, 5]]);
  });

  it('sends a text larger than the budget alone, treats a count below one as one, and plans nothing for no texts', () => {
    expect(planEmbeddingBatches([10, 500, 10], { maxInputs: 10, maxTokens: 100 })).toEqual([[0, 1], [1, 2], [2, 3]]);
    expect(embeddingBatchEnd([1, 1], 0, { maxInputs: 0, maxTokens: 10 })).toBe(1);
    expect(planEmbeddingBatches([], { maxInputs: 10, maxTokens: 10 })).toEqual([]);
  });

  it("takes a model's caps, with no token cap where it declares none", () => {
    expect(embeddingBatchLimitsOf({ maxEmbeddingsPerCall: 32 })).toEqual({ maxInputs: 32, maxTokens: Infinity });
    expect(embeddingBatchLimitsOf({ maxEmbeddingsPerCall: 2048, maxTokensPerCall: 300_000 })).toEqual({ maxInputs: 2048, maxTokens: 300_000 });
  });
});
