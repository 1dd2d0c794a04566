import { emptyUsage, type UsageV1 } from '../spec/usage.js';
import { PRICE_CATALOG } from './catalog.js';
import { addDecimal } from './decimal.js';
import { createPriceBook } from './price-book.js';

const usage = (u: Partial<UsageV1>): UsageV1 => ({ ...emptyUsage(true), ...u });

describe('price book', () => {
  const book = createPriceBook();

  it('prices OpenAI usage with cached input (hand-computed)', () => {
    // 800 x 0.15 + 200 x 0.075 + 500 x 0.60 per million = 0.00012 + 0.000015 + 0.0003
    expect(book.costOf('openai/gpt-4o-mini', usage({ inputTokens: 1000, cachedInputTokens: 200, outputTokens: 500 }))).toEqual({ costUsd: '0.000435000', priced: true });
  });

  it('prices reasoning inside output at the output rate', () => {
    // gpt-6-luna: 100 x 0.10 + 1000 x 0.50 per million = 0.00001 + 0.0005
    expect(book.costOf('openai/gpt-6-luna', usage({ inputTokens: 100, outputTokens: 1000, reasoningTokens: 900 })).costUsd).toBe('0.000510000');
  });

  it('prices Anthropic cache reads and writes (hand-computed)', () => {
    // sonnet-5-5: 412 x 2 + 1024 x 0.10 + 9 x 10 per million = 0.000824 + 0.0001024 + 0.00009
    expect(book.costOf('anthropic/claude-sonnet-5-5', usage({ inputTokens: 1436, cachedInputTokens: 1024, outputTokens: 9 })).costUsd).toBe('0.001016400');
    // haiku-4-5: 1000 x 1 + 500 x 0.10 + 1500 x 1.25 + 200 x 5 per million = 0.001 + 0.00005 + 0.001875 + 0.001
    expect(book.costOf('anthropic/claude-haiku-4-5', usage({ inputTokens: 3000, cachedInputTokens: 500, cacheWriteInputTokens: 1500, outputTokens: 200 })).costUsd).toBe('0.003925000');
  });

  it('keeps tiny costs exact', () => {
    expect(book.costOf('openai/gpt-5-nano', usage({ inputTokens: 1 })).costUsd).toBe('0.000000050');
    expect(book.costOf('openai/gpt-5-nano', usage({ inputTokens: 1, cachedInputTokens: 1 })).costUsd).toBe('0.000000005');
    const custom = createPriceBook({ 'local/tiny': { input: '0.0001', output: '0', asOf: '2026-11-25', source: 'test' } });
    expect(custom.costOf('local/tiny', usage({ inputTokens: 1 })).costUsd).toBe('0.0000000001');
    expect(custom.costOf('local/tiny', usage({})).costUsd).toBe('0.000000000');
  });

  it('falls back to input rates, resolves dated snapshots, and prices search units', () => {
    expect(book.costOf('openai/text-embedding-3-small', usage({ inputTokens: 5000 })).costUsd).toBe('0.000100000');
    expect(book.costOf('openai/gpt-4o-mini-2024-07-18', usage({ inputTokens: 1000 })).costUsd).toBe('0.000150000');
    expect(book.costOf('anthropic/claude-haiku-4-5-20251001', usage({ outputTokens: 1000 })).costUsd).toBe('0.005000000');
    const withRerank = createPriceBook({ 'cohere/rerank-v3.5': { input: '0', output: '0', searchUnit: '0.002', asOf: '2026-11-25', source: 'test' } });
    expect(withRerank.costOf('cohere/rerank-v3.5', usage({ searchUnits: 3 })).costUsd).toBe('0.006000000');
  });

  it('lets overrides replace catalog prices', () => {
    const discounted = createPriceBook({ 'openai/gpt-4o': { input: '1', output: '2', asOf: '2026-11-25', source: 'contract' } });
    expect(discounted.costOf('openai/gpt-4o', usage({ inputTokens: 1_000_000, outputTokens: 1_000_000 })).costUsd).toBe('3.000000000');
    expect(() => createPriceBook({ 'x/y': { input: '1e-6', output: '1', asOf: '', source: '' } })).toThrow(/decimal string/);
  });

  it('does not price what it cannot', () => {
    expect(book.costOf('openai/unknown-model', usage({ inputTokens: 10 }))).toEqual({ costUsd: null, priced: false, warning: expect.stringContaining('No price for model "openai/unknown-model"') });
    expect(book.costOf('openai/gpt-4o', usage({ searchUnits: 1 })).priced).toBe(false);
    expect(book.costOf('openai/gpt-4o', usage({ inputTokens: 5, cachedInputTokens: 6 })).priced).toBe(false);
  });

  it('sums without drift', () => {
    const one = book.costOf('openai/text-embedding-3-small', usage({ inputTokens: 5000 }));
    let total = '0';
    let float = 0;
    for (let i = 0; i < 1000; i++) {
      total = addDecimal(total, one.costUsd!);
      float += 0.0001;
    }
    expect(total).toBe('0.100000000');
    expect(float).not.toBe(0.1); // the float sum drifts, which is why we do not use it
    let tenths = '0';
    for (let i = 0; i < 1000; i++) tenths = addDecimal(tenths, '0.1');
    expect(tenths).toBe('100.0');
    expect(addDecimal('1.5', '-2.25')).toBe('-0.75');
  });

  it('has a dated, sourced entry for every current OpenAI and Anthropic model', () => {
    for (const name of ['gpt-6.2-astra', 'gpt-6.2-sol', 'gpt-6.1-terra', 'gpt-6.1-sol', 'gpt-6-astra', 'gpt-6-sol', 'gpt-6-luna', 'text-embedding-3-small', 'text-embedding-3-large']) {
      expect(PRICE_CATALOG[`openai/${name}`]).toMatchObject({ asOf: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), source: expect.stringMatching(/^https:\/\//) });
    }
    for (const name of ['claude-fable-5-2', 'claude-fable-5-1', 'claude-opus-5-5', 'claude-sonnet-5-5', 'claude-haiku-5-5', 'claude-haiku-4-5']) {
      expect(PRICE_CATALOG[`anthropic/${name}`]?.cacheWrite).toBeDefined();
    }
  });
});
