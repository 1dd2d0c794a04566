import { createPriceBook, emptyUsage } from '@quire/models';
import { toNanos } from './budgets.js';
import { estimateRequest, type CostOf } from './cost-estimate.js';
import type { RouteStore } from '../routing/route-store.js';

const book = createPriceBook({
  'p/cheap': { input: '0.15', output: '0.60', asOf: 'test', source: 'test' },
  'p/dear': { input: '3', output: '15', cachedInput: '0.3', asOf: 'test', source: 'test' },
  'p/rerank': { input: '0', output: '0', searchUnit: '0.002', asOf: 'test', source: 'test' },
});
const costOf: CostOf = (name, usage) => book.costOf(name, usage).costUsd;
const noRoutes = { get: async () => undefined } as unknown as RouteStore;

describe('estimateRequest reserves the exact worst case, rounded up to a nano-dollar', () => {
  test('matches exact decimal pricing for many token counts, never below it', async () => {
    for (let i = 0; i < 500; i++) {
      const chars = 1 + Math.floor(Math.random() * 200_000);
      const max = 1 + Math.floor(Math.random() * 50_000);
      for (const model of ['p/cheap', 'p/dear']) {
        const body = { model, messages: [{ role: 'user', content: 'x'.repeat(chars) }], max_tokens: max };
        const estimate = await estimateRequest(body, '/v1/chat/completions', costOf, noRoutes);
        const exact = toNanos(costOf(model, { ...emptyUsage(), inputTokens: estimate.inputTokens, outputTokens: estimate.outputTokens }));
        expect(estimate.nanos).toBeGreaterThanOrEqual(exact);
        expect(estimate.nanos - exact).toBeLessThanOrEqual(1);
      }
    }
  });

  test('a chat call without max_tokens assumes the default output, 4,096 tokens unless the deployment sets another', async () => {
    const body = { model: 'p/dear', messages: [{ role: 'user', content: 'hi' }] };
    expect((await estimateRequest(body, '/v1/chat/completions', costOf, noRoutes)).outputTokens).toBe(4096);
    expect((await estimateRequest(body, '/v1/chat/completions', costOf, noRoutes, 32_768)).outputTokens).toBe(32_768);
    expect((await estimateRequest({ ...body, max_tokens: 100 }, '/v1/chat/completions', costOf, noRoutes, 32_768)).outputTokens).toBe(100);
  });

  test('a chat or embedding estimate never asks for a search-unit price (the catalog warns on every model it cannot price)', async () => {
    const asked: string[] = [];
    const watching: CostOf = (name, usage) => {
      if (usage.searchUnits > 0) asked.push(name);
      return costOf(name, usage);
    };
    await estimateRequest({ model: 'p/cheap', messages: [{ role: 'user', content: 'hi' }] }, '/v1/chat/completions', watching, noRoutes);
    await estimateRequest({ model: 'p/dear', input: 'hello' }, '/v1/embeddings', watching, noRoutes);
    expect(asked).toEqual([]);
    await estimateRequest({ model: 'p/rerank', query: 'q', documents: ['a', 'b'] }, '/v1/rerank', watching, noRoutes);
    expect(asked).toEqual(['p/rerank']);
  });

  test('search units are priced for rerank; an unpriced model reserves nothing', async () => {
    const docs = Array.from({ length: 250 }, (_, i) => `doc ${i}`);
    const rerank = await estimateRequest({ model: 'p/rerank', query: 'q', documents: docs }, '/v1/rerank', costOf, noRoutes);
    expect(rerank.nanos).toBe(toNanos(costOf('p/rerank', { ...emptyUsage(), inputTokens: rerank.inputTokens, searchUnits: 3 })));
    const unpriced = await estimateRequest({ model: 'p/unknown', input: 'hello' }, '/v1/embeddings', costOf, noRoutes);
    expect(unpriced).toMatchObject({ nanos: 0, unpriced: ['p/unknown'] });
  });

  test('lists the models without a price that a call can reach: the model, or any target of its route', async () => {
    const route = { targets: [{ model: 'p/cheap', weight: 1 }, { model: 'p/gpt-4o', weight: 1 }], downgrade: { whenBudgetUsedAbove: 0.5, targets: [{ model: 'p/o3', weight: 1 }, { model: 'p/cheap', weight: 1 }] } };
    const routes = { get: async (name: string) => (name === 'chat' ? route : undefined) } as unknown as RouteStore;
    const chat = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 };
    const routed = await estimateRequest({ model: 'chat', ...chat }, '/v1/chat/completions', costOf, routes);
    expect(routed.unpriced).toEqual(['p/gpt-4o', 'p/o3']);
    expect(routed.nanos).toBe((await estimateRequest({ model: 'p/cheap', ...chat }, '/v1/chat/completions', costOf, routes)).nanos);
    expect((await estimateRequest({ model: 'p/cheap', ...chat }, '/v1/chat/completions', costOf, routes)).unpriced).toEqual([]);
    // Neither a route nor provider/model: refused as unknown later, not as unpriced.
    expect((await estimateRequest({ model: 'gpt-4o', ...chat }, '/v1/chat/completions', costOf, routes)).unpriced).toEqual([]);
  });

  test('a reranker priced per token (no search-unit price) is priced, at its tokens', async () => {
    const tokenBook = createPriceBook({ 'p/token-rerank': { input: '0.05', output: '0', asOf: 'test', source: 'test' } });
    const tokenCostOf: CostOf = (name, usage) => tokenBook.costOf(name, usage).costUsd;
    const rerank = await estimateRequest({ model: 'p/token-rerank', query: 'q', documents: ['a'.repeat(4000)] }, '/v1/rerank', tokenCostOf, noRoutes);
    expect(rerank.unpriced).toEqual([]);
    expect(rerank.nanos).toBe(rerank.inputTokens * 50);
  });

  test('tool definitions and a response schema are input: they count as much as the same characters in a message', async () => {
    const schema = { type: 'object', properties: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`field_${i}`, { type: 'string', description: 'a long description '.repeat(5) }])) };
    const tools = [{ type: 'function', function: { name: 'lookup', description: 'Looks things up.', parameters: schema } }];
    const response_format = { type: 'json_schema', json_schema: { name: 'answer', schema } };
    const messages = [{ role: 'user', content: 'hi' }];
    const bare = await estimateRequest({ model: 'p/dear', messages, max_tokens: 1 }, '/v1/chat/completions', costOf, noRoutes);
    const full = await estimateRequest({ model: 'p/dear', messages, tools, response_format, max_tokens: 1 }, '/v1/chat/completions', costOf, noRoutes);
    const extraChars = JSON.stringify(tools).length + JSON.stringify(response_format).length;
    expect(full.inputTokens).toBe(Math.ceil((JSON.stringify(messages).length + extraChars) / 4));
    expect(full.inputTokens - bare.inputTokens).toBeGreaterThanOrEqual(Math.floor(extraChars / 4));
    expect(full.nanos).toBeGreaterThan(bare.nanos);
  });
});
