import { PRICE_CATALOG, PRICE_CATALOGS_BY_VENDOR, UNPRICED_PROVIDERS } from './catalog.js';
import { isDecimalString } from './decimal.js';

/** The day the catalog was last refreshed; no source can be newer. */
const REFRESHED = '2026-11-25';
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const PRICE_FIELDS = ['input', 'cachedInput', 'cacheWrite', 'output', 'searchUnit'] as const;
const SELF_HOSTED = ['ollama', 'tei', 'vllm', 'local'];

const entries = Object.entries(PRICE_CATALOG);

describe('price catalog', () => {
  it('has no id twice across the vendor files', () => {
    const ids = Object.values(PRICE_CATALOGS_BY_VENDOR).flatMap((catalog) => Object.keys(catalog));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(entries.length);
  });

  it('keeps each vendor file to its own provider prefix', () => {
    for (const [vendor, catalog] of Object.entries(PRICE_CATALOGS_BY_VENDOR)) {
      for (const id of Object.keys(catalog)) {
        const provider = id.split('/', 1)[0]!;
        expect(vendor === 'self-hosted' ? SELF_HOSTED : [vendor]).toContain(provider);
        expect(id).toMatch(/^[^/]+\/.+$/);
      }
    }
  });

  it('dates and sources every entry', () => {
    for (const [id, price] of entries) {
      expect({ id, asOf: price.asOf }).toEqual({ id, asOf: expect.stringMatching(ISO_DATE) });
      expect(Number.isNaN(Date.parse(price.asOf))).toBe(false);
      expect(price.asOf <= REFRESHED).toBe(true);
      if (SELF_HOSTED.includes(id.split('/', 1)[0]!)) {
        expect(price.source).toMatch(/^self-hosted/);
      } else {
        expect({ id, source: price.source }).toEqual({ id, source: expect.stringMatching(/^https:\/\/[^\s]+$/) });
      }
      if (price.validUntil !== undefined) {
        expect(price.validUntil).toMatch(ISO_DATE);
        expect(price.validUntil >= price.asOf).toBe(true);
      }
      if (price.status !== undefined) expect(['legacy', 'deprecated']).toContain(price.status);
    }
  });

  it('uses non-negative decimal strings for every price', () => {
    for (const [id, price] of entries) {
      for (const field of PRICE_FIELDS) {
        const value = price[field];
        if (value === undefined) continue;
        expect({ id, field, ok: isDecimalString(value) && !value.startsWith('-') }).toEqual({ id, field, ok: true });
      }
    }
  });

  it('never prices cache reads above input, or writes below it', () => {
    for (const [id, price] of entries) {
      if (price.cachedInput !== undefined) expect({ id, ok: Number(price.cachedInput) <= Number(price.input) }).toEqual({ id, ok: true });
      if (price.cacheWrite !== undefined) expect({ id, ok: Number(price.cacheWrite) >= Number(price.input) }).toEqual({ id, ok: true });
    }
  });

  it('leaves out the providers it cannot price, rather than guessing', () => {
    for (const provider of Object.keys(UNPRICED_PROVIDERS)) {
      expect(entries.filter(([id]) => id.startsWith(`${provider}/`))).toEqual([]);
    }
    // Retired by their vendors, so no longer billed.
    for (const id of ['anthropic/claude-opus-4-1', 'anthropic/claude-3-5-haiku', 'groq/llama-3.3-70b-versatile', 'deepseek/deepseek-chat']) {
      expect(PRICE_CATALOG[id]).toBeUndefined();
    }
  });

  it.each([
    ['openai/gpt-6.2-astra', { input: '8', cachedInput: '0.40', cacheWrite: '10', output: '40' }],
    ['openai/gpt-6.2-sol', { input: '2', cachedInput: '0.10', cacheWrite: '2.50', output: '10' }],
    ['openai/gpt-6-luna', { input: '0.10', cachedInput: '0.01', cacheWrite: '0.125', output: '0.50' }],
    ['openai/text-embedding-3-small', { input: '0.02', output: '0' }],
    ['anthropic/claude-opus-5-5', { input: '4', cacheWrite: '5', cachedInput: '0.20', output: '20' }],
    ['anthropic/claude-sonnet-5-5', { input: '2', cacheWrite: '2.50', cachedInput: '0.10', output: '10' }],
    ['anthropic/claude-fable-5-2', { input: '8', cacheWrite: '10', cachedInput: '0.20', output: '40' }],
    ['gemini/gemini-4-neon', { input: '3', cachedInput: '0.15', output: '15' }],
    ['gemini/gemini-embedding-2', { input: '0.20', output: '0' }],
    ['cohere/embed-v5.0-fast', { input: '0.08', output: '0' }],
    ['voyage/voyage-4', { input: '0.06', output: '0' }],
    ['voyage/rerank-2.5', { input: '0.05', output: '0' }],
    ['groq/openai/gpt-oss-120b', { input: '0.15', output: '0.60' }],
    ['qwen/qwen3.8-max', { input: '2', output: '6' }],
  ])('prices %s as the vendor lists it', (id, expected) => {
    expect(PRICE_CATALOG[id]).toMatchObject(expected);
  });

  it('marks models the vendor still bills but no longer lists as current', () => {
    expect(PRICE_CATALOG['anthropic/claude-sonnet-4-5']).toMatchObject({ status: 'deprecated', validUntil: '2026-11-30' });
    expect(PRICE_CATALOG['openai/gpt-4o-mini']?.status).toBe('legacy');
    expect(PRICE_CATALOG['openai/gpt-6.2-sol']?.status).toBeUndefined();
    expect(PRICE_CATALOG['gemini/gemini-4-argon']?.validUntil).toBe('2026-11-30');
  });
});
