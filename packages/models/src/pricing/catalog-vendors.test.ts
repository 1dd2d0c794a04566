import { emptyUsage } from '../spec/usage.js';
import { createPriceBook } from './price-book.js';

describe('vendor price catalog', () => {
  const book = createPriceBook();

  it('bills OpenAI 30-minute cache writes and cheap cache reads (hand-computed)', () => {
    // gpt-6.2-sol: 1M x 2 + 2M x 0.10 + 1M x 2.50 + 1M x 10
    const usage = { ...emptyUsage(), inputTokens: 4_000_000, cachedInputTokens: 2_000_000, cacheWriteInputTokens: 1_000_000, outputTokens: 1_000_000 };
    expect(book.costOf('openai/gpt-6.2-sol', usage)).toEqual({ costUsd: '14.700000000', priced: true });
  });

  it('bills Gemini thoughts at the output rate and Voyage rerank per token', () => {
    // gemini-4-neon: 1M x 3 + 2M x 15 (output already includes the 1.5M thinking tokens)
    const gemini = book.costOf('gemini/gemini-4-neon', { ...emptyUsage(), inputTokens: 1_000_000, outputTokens: 2_000_000, reasoningTokens: 1_500_000 });
    expect(gemini).toEqual({ costUsd: '33.000000000', priced: true });
    expect(book.costOf('voyage/rerank-2.5', { ...emptyUsage(), inputTokens: 20_000 }).costUsd).toBe('0.001000000');
  });

  it('resolves Anthropic dated snapshots to the catalog entry', () => {
    expect(book.priceOf('anthropic/claude-sonnet-4-5-20250929')).toMatchObject({ input: '3', status: 'deprecated' });
  });

  it('meters deliberately unpriced providers as null and says why', () => {
    for (const [model, reason] of [
      ['deepseek/deepseek-flash', /time of day/],
      ['jina/jina-embeddings-v4', /token packs/],
      ['azure/my-gpt-deployment', /per deployment/],
    ] as const) {
      const cost = book.costOf(model, { ...emptyUsage(), inputTokens: 1000 });
      expect(cost).toEqual({ costUsd: null, priced: false, warning: expect.stringMatching(reason) });
      if (!cost.priced) expect(cost.warning).toContain(`No price for model "${model}"`);
    }
    expect(book.costOf('mistral/no-such-model', emptyUsage())).toEqual({
      costUsd: null,
      priced: false,
      warning: 'No price for model "mistral/no-such-model"; add it to the price catalog or overrides.',
    });
    expect(book.costOf('constructor', emptyUsage()).priced).toBe(false);
  });

  it('lets a deployment price an unpriced provider with an override', () => {
    const withDeepSeek = createPriceBook({ 'deepseek/deepseek-flash': { input: '0.30', cachedInput: '0.006', output: '1.20', asOf: '2026-10-27', source: 'peak rate' } });
    expect(withDeepSeek.costOf('deepseek/deepseek-flash', { ...emptyUsage(), inputTokens: 1_000_000, cachedInputTokens: 500_000, outputTokens: 100_000 })).toEqual({
      costUsd: '0.273000000',
      priced: true,
    });
  });

  it('prices self-hosted models at zero', () => {
    for (const name of ['ollama/llama3.2', 'tei/BAAI/bge-small-en-v1.5', 'vllm/Qwen/Qwen2.5-7B-Instruct', 'local/Xenova/bge-small-en-v1.5']) {
      expect(book.costOf(name, { ...emptyUsage(), inputTokens: 12_345, outputTokens: 678 })).toMatchObject({ priced: true });
      expect(Number(book.costOf(name, { ...emptyUsage(), inputTokens: 12_345 }).costUsd)).toBe(0);
    }
  });
});
