import { tokenLength } from '../chunk/token-length.js';
import { embeddingBatchEnd, estimateEmbeddingTokens, PER_INPUT_TOKEN_OVERHEAD, planEmbeddingBatches } from './embedding-batches.js';

describe('estimateEmbeddingTokens', () => {
  it('counts UTF-8 bytes plus the per-input overhead', () => {
    expect(estimateEmbeddingTokens('')).toBe(PER_INPUT_TOKEN_OVERHEAD);
    expect(estimateEmbeddingTokens('abc')).toBe(3 + PER_INPUT_TOKEN_OVERHEAD);
    // é is 2 bytes, 東 3, the emoji 4.
    expect(estimateEmbeddingTokens('é東😀')).toBe(9 + PER_INPUT_TOKEN_OVERHEAD);
  });

  it('is never below the cl100k_base count, digits, CJK and symbols included', () => {
    const samples = [
      'Quarterly revenue grew by ten percent.',
      '3.14159265358979323846264338327950288419716939937510',
      '東京都の人口は約千四百万人です。',
      '}}]]))!!??;;::,,..--__==++**&&^^%%$$##@@',
      'Ünïcödé Straße naïve café résumé',
    ];
    for (const text of samples) expect(estimateEmbeddingTokens(text)).toBeGreaterThanOrEqual(tokenLength(text));
  });
});

describe('planEmbeddingBatches', () => {
  it('closes a batch before the token budget is exceeded, in order, covering every text', () => {
    const tokens = [40, 40, 40, 10, 90, 5, 5, 1];
    const batches = planEmbeddingBatches(tokens, { maxInputs: 10, maxTokens: 100 });
    expect(batches).toEqual([[0, 2], [2, 4], [4, 7], [7, 8]]);
    for (const [start, end] of batches) expect(tokens.slice(start, end).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100);
  });

  it('closes a batch at the input count even when tokens would allow more', () => {
    expect(planEmbeddingBatches([1, 1, 1, 1, 1], { maxInputs: 2, maxTokens: 1_000 })).toEqual([[0, 2], [2, 4], [4, 5]]);
  });

  it('sends a text larger than the budget alone rather than never', () => {
    expect(planEmbeddingBatches([10, 500, 10], { maxInputs: 10, maxTokens: 100 })).toEqual([[0, 1], [1, 2], [2, 3]]);
  });

  it('treats a count limit below one as one, and plans nothing for no texts', () => {
    expect(embeddingBatchEnd([1, 1], 0, { maxInputs: 0, maxTokens: 10 })).toBe(1);
    expect(planEmbeddingBatches([], { maxInputs: 10, maxTokens: 10 })).toEqual([]);
  });
});
