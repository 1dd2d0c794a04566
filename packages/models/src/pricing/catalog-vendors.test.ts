import { emptyUsage } from '../spec/usage.js';
import { PRICE_CATALOG } from './catalog.js';
import { createPriceBook } from './price-book.js';

describe('vendor price catalog', () => {
  const book = createPriceBook();

  it('has a dated, sourced entry for each provider', () => {
    for (const provider of ['gemini', 'cohere', 'voyage', 'jina', 'deepseek', 'mistral', 'groq', 'qwen', 'together', 'ollama', 'tei', 'vllm', 'local']) {
      const entries = Object.entries(PRICE_CATALOG).filter(([name]) => name.startsWith(`${provider}/`));
      expect(entries.length).toBeGreaterThan(0);
      for (const [, price] of entries) expect(price).toMatchObject({ asOf: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), source: expect.any(String) });
    }
  });

  it('bills DeepSeek cache hits, Gemini thoughts at the output rate and Cohere search units', () => {
    const deepseek = book.costOf('deepseek/deepseek-chat', { ...emptyUsage(), inputTokens: 1_000_000, cachedInputTokens: 400_000, outputTokens: 1_000_000 });
    // 600k x 0.28 + 400k x 0.028 + 1M x 0.42
    expect(deepseek).toEqual({ costUsd: '0.599200000', priced: true });
    const gemini = book.costOf('gemini/gemini-2.5-flash', { ...emptyUsage(), inputTokens: 1_000_000, outputTokens: 2_000_000, reasoningTokens: 1_500_000 });
    expect(gemini).toEqual({ costUsd: '5.300000000', priced: true });
    expect(book.costOf('cohere/rerank-v3.5', { ...emptyUsage(), searchUnits: 3 })).toEqual({ costUsd: '0.006000000', priced: true });
  });

  it('prices self-hosted models at zero', () => {
    for (const name of ['ollama/llama3.2', 'tei/BAAI/bge-small-en-v1.5', 'vllm/Qwen/Qwen2.5-7B-Instruct', 'local/Xenova/bge-small-en-v1.5']) {
      expect(book.costOf(name, { ...emptyUsage(), inputTokens: 12_345, outputTokens: 678 })).toMatchObject({ priced: true });
      expect(Number(book.costOf(name, { ...emptyUsage(), inputTokens: 12_345 }).costUsd)).toBe(0);
    }
  });
});
