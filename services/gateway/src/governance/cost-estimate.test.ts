import { createPriceBook, emptyUsage } from '@quire/models';
import { toNanos } from './budgets.js';
import { DEFAULT_IMAGE_TOKENS, estimateRequest, type CostOf } from './cost-estimate.js';
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
    expect((await estimateRequest(body, '/v1/chat/completions', costOf, noRoutes, { defaultMaxOutputTokens: 32_768 })).outputTokens).toBe(32_768);
    expect((await estimateRequest({ ...body, max_tokens: 100 }, '/v1/chat/completions', costOf, noRoutes, { defaultMaxOutputTokens: 32_768 })).outputTokens).toBe(100);
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
    await estimateRequest({ model: 'p/rerank', query: 'q', documents: ['a', 'b'] }, '/v1/rerank', watching, noRoutes, { rerankBillingOf: () => 'searchUnits' });
    expect(asked).toEqual(['p/rerank']);
  });

  test('search units are priced for rerank; an unpriced model reserves nothing', async () => {
    const docs = Array.from({ length: 250 }, (_, i) => `doc ${i}`);
    const rerank = await estimateRequest({ model: 'p/rerank', query: 'q', documents: docs }, '/v1/rerank', costOf, noRoutes, { rerankBillingOf: () => 'searchUnits' });
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

  test('a reranker that reports tokens (Voyage, Jina) is priced by token prices alone, at its tokens', async () => {
    const tokenBook = createPriceBook({ 'p/token-rerank': { input: '0.05', output: '0', asOf: 'test', source: 'test' } });
    const asked: string[] = [];
    const tokenCostOf: CostOf = (name, usage) => {
      if (usage.searchUnits > 0) asked.push(name);
      return tokenBook.costOf(name, usage).costUsd;
    };
    const body = { model: 'p/token-rerank', query: 'q', documents: ['a'.repeat(4000)] };
    const rerank = await estimateRequest(body, '/v1/rerank', tokenCostOf, noRoutes, { rerankBillingOf: () => 'tokens' });
    expect(rerank).toMatchObject({ unpriced: [], needsSearchUnit: [], onlySearchUnitMissing: [] });
    expect(rerank.nanos).toBe(rerank.inputTokens * 50);
    // Its search-unit price is never asked for (the catalog would warn about a price it does not need).
    expect(asked).toEqual([]);
  });

  test('a reranker billed in search units, priced with input/output only, is unpriced and needs a searchUnit price', async () => {
    // The README's price shape, without searchUnit: the price book cannot price the search units Cohere reports.
    const tokenOnly = createPriceBook({ 'p/unit-rerank': { input: '1', output: '0', asOf: 'test', source: 'test' } });
    const unitCostOf: CostOf = (name, usage) => tokenOnly.costOf(name, usage).costUsd;
    expect(unitCostOf('p/unit-rerank', { ...emptyUsage(), searchUnits: 1 })).toBeNull();
    const body = { model: 'p/unit-rerank', query: 'q', documents: ['a', 'b', 'c'] };
    const declared = await estimateRequest(body, '/v1/rerank', unitCostOf, noRoutes, { rerankBillingOf: () => 'searchUnits' });
    expect(declared).toMatchObject({ nanos: 0, unpriced: ['p/unit-rerank'], needsSearchUnit: ['p/unit-rerank'], onlySearchUnitMissing: ['p/unit-rerank'] });
    // Without any price, a search-unit reranker needs a price with a searchUnit (not only a searchUnit); a token one's is a plain missing price.
    const none = await estimateRequest({ ...body, model: 'p/nothing' }, '/v1/rerank', unitCostOf, noRoutes, { rerankBillingOf: (m) => (m === 'p/nothing' ? 'searchUnits' : 'tokens') });
    expect(none).toMatchObject({ unpriced: ['p/nothing'], needsSearchUnit: ['p/nothing'], onlySearchUnitMissing: [] });
    const noneTokens = await estimateRequest({ ...body, model: 'p/nothing' }, '/v1/rerank', unitCostOf, noRoutes, { rerankBillingOf: () => 'tokens' });
    expect(noneTokens).toMatchObject({ unpriced: ['p/nothing'], needsSearchUnit: [], onlySearchUnitMissing: [] });
    // A name no reranker is built for (undefined: the call fails before anything is spent) is priced by its token prices, if any.
    const unbuilt = await estimateRequest({ ...body, model: 'p/nothing' }, '/v1/rerank', unitCostOf, noRoutes, { rerankBillingOf: () => undefined });
    expect(unbuilt).toMatchObject({ unpriced: ['p/nothing'], needsSearchUnit: [], onlySearchUnitMissing: [] });
    const unbuiltPriced = await estimateRequest(body, '/v1/rerank', unitCostOf, noRoutes, { rerankBillingOf: () => undefined });
    expect(unbuiltPriced).toMatchObject({ unpriced: [], nanos: unbuiltPriced.inputTokens * 1000 });
    // With a searchUnit price it is priced at its search units when billed in them, at its tokens otherwise.
    for (const [rerankBillingOf, nanos] of [[() => 'searchUnits' as const, 2_000_000], [() => 'tokens' as const, 0], [() => undefined, 0]] as const) {
      const priced = await estimateRequest({ ...body, model: 'p/rerank' }, '/v1/rerank', costOf, noRoutes, { rerankBillingOf });
      expect(priced).toMatchObject({ unpriced: [], needsSearchUnit: [], onlySearchUnitMissing: [] });
      expect(priced.nanos).toBe(nanos);
    }
  });

  test('a route reaching a search-unit reranker without a searchUnit price lists it', async () => {
    const mixed = createPriceBook({
      'p/rerank': { input: '0', output: '0', searchUnit: '0.002', asOf: 'test', source: 'test' },
      'p/unit-rerank': { input: '1', output: '0', asOf: 'test', source: 'test' },
    });
    const mixedCostOf: CostOf = (name, usage) => mixed.costOf(name, usage).costUsd;
    const routes = { get: async (name: string) => (name === 'rr' ? { targets: [{ model: 'p/rerank', weight: 1 }, { model: 'p/unit-rerank', weight: 1 }] } : undefined) } as unknown as RouteStore;
    const routed = await estimateRequest({ model: 'rr', query: 'q', documents: ['a'] }, '/v1/rerank', mixedCostOf, routes, { rerankBillingOf: () => 'searchUnits' });
    expect(routed).toMatchObject({ nanos: 2_000_000, unpriced: ['p/unit-rerank'], needsSearchUnit: ['p/unit-rerank'], onlySearchUnitMissing: ['p/unit-rerank'] });
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

describe('images reserve a worst case each, by detail', () => {
  const url = (i: number) => `https://img.example.com/${i}.png`;
  const images = (n: number, detail?: string) =>
    Array.from({ length: n }, (_, i) => ({ type: 'image_url', image_url: { url: url(i), ...(detail ? { detail } : {}) } }));
  const chat = (content: unknown) => ({ model: 'p/cheap', max_tokens: 1, messages: [{ role: 'user', content }] });

  test('defaults: 2,833 tokens for a low-detail image, 48,169 for high, auto or none (gpt-4o-mini, OpenAI\'s dearest)', async () => {
    expect(DEFAULT_IMAGE_TOKENS).toEqual({ low: 2833, high: 48_169 });
    const text = await estimateRequest(chat([{ type: 'text', text: 'describe' }]), '/v1/chat/completions', costOf, noRoutes);
    for (const [detail, each] of [['low', 2833], ['high', 48_169], ['auto', 48_169], [undefined, 48_169], ['LOW', 48_169]] as const) {
      const e = await estimateRequest(chat([{ type: 'text', text: 'describe' }, ...images(20, detail)]), '/v1/chat/completions', costOf, noRoutes);
      // The image parts' JSON without their URLs still counts as characters (a few tokens each).
      expect(e.inputTokens - text.inputTokens).toBeGreaterThanOrEqual(20 * each);
      expect(e.inputTokens - text.inputTokens).toBeLessThan(20 * each + 20 * 20);
      expect(e.nanos).toBe(Math.ceil(e.inputTokens * 150 + 600));
    }
  });

  test('covers what OpenAI bills for 20 low-detail images on gpt-4o-mini (2,833 each), which characters did not', async () => {
    const e = await estimateRequest(chat([{ type: 'text', text: 'describe' }, ...images(20, 'low')]), '/v1/chat/completions', costOf, noRoutes);
    const billed = toNanos(costOf('p/cheap', { ...emptyUsage(), inputTokens: 10 + 20 * 2833, outputTokens: 1 }));
    expect(e.nanos).toBeGreaterThanOrEqual(billed);
  });

  test('a data: URL counts as an image, not as its characters; the rest of the part still counts', async () => {
    const data = `data:image/png;base64,${'A'.repeat(400_000)}`;
    const e = await estimateRequest(chat([{ type: 'image_url', image_url: { url: data, detail: 'low' } }]), '/v1/chat/completions', costOf, noRoutes);
    expect(e.inputTokens).toBeLessThan(2833 + 100);
    const padded = await estimateRequest(chat([{ type: 'image_url', image_url: { url: url(0), detail: 'low' }, note: 'x'.repeat(4000) }]), '/v1/chat/completions', costOf, noRoutes);
    expect(padded.inputTokens).toBeGreaterThanOrEqual(2833 + 1000);
  });

  test('image-shaped objects outside message content are characters (they are not sent as images)', async () => {
    const fake = { type: 'image_url', image_url: { url: 'x'.repeat(40_000) } };
    const body = { ...chat('hi'), tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', default: fake } } }] };
    const e = await estimateRequest(body, '/v1/chat/completions', costOf, noRoutes);
    expect(e.inputTokens).toBeGreaterThanOrEqual(10_000);
    expect(e.inputTokens).toBeLessThan(48_169);
  });

  test('responses input_image parts count the same, and the amounts are configurable', async () => {
    const input = [{ role: 'user', content: [{ type: 'input_text', text: 'describe' }, { type: 'input_image', image_url: url(1), detail: 'low' }, { type: 'input_image', image_url: url(2) }] }];
    const e = await estimateRequest({ model: 'p/cheap', input, max_output_tokens: 1 }, '/v1/responses', costOf, noRoutes);
    expect(e.inputTokens).toBeGreaterThanOrEqual(2833 + 48_169);
    expect(e.inputTokens).toBeLessThan(2833 + 48_169 + 100);
    const custom = await estimateRequest({ model: 'p/cheap', input, max_output_tokens: 1 }, '/v1/responses', costOf, noRoutes, { imageTokens: { low: 85, high: 1445 } });
    expect(custom.inputTokens).toBeGreaterThanOrEqual(85 + 1445);
    expect(custom.inputTokens).toBeLessThan(85 + 1445 + 100);
  });
});


describe('message input is counted without copying the body', () => {
  /** The count before serializing once: a copy of every message and part with the image URLs emptied, serialized. */
  function copiedInput(messages: unknown, imageTokens = DEFAULT_IMAGE_TOKENS): { chars: number; imageTokens: number } {
    const charsOf = (value: unknown): number => (typeof value === 'string' ? value.length : JSON.stringify(value ?? '').length);
    const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
    if (typeof messages === 'string' || !Array.isArray(messages)) return { chars: charsOf(messages), imageTokens: 0 };
    let tokens = 0;
    const stripped = messages.map((message: unknown) => {
      if (!isRecord(message) || !Array.isArray(message.content)) return message;
      const content = message.content.map((part: unknown) => {
        if (!isRecord(part)) return part;
        if (part.type === 'image_url' && isRecord(part.image_url) && typeof part.image_url.url === 'string') {
          tokens += part.image_url.detail === 'low' ? imageTokens.low : imageTokens.high;
          return { ...part, image_url: { ...part.image_url, url: '' } };
        }
        if (part.type === 'input_image' && typeof part.image_url === 'string') {
          tokens += part.detail === 'low' ? imageTokens.low : imageTokens.high;
          return { ...part, image_url: '' };
        }
        return part;
      });
      return { ...message, content };
    });
    return { chars: charsOf(stripped), imageTokens: tokens };
  }

  /** A seeded generator, so a failure can be replayed. */
  function random(seed: number) {
    let x = seed;
    const next = () => ((x = (x * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    return { next, pick };
  }

  // URLs and texts with what JSON escapes (quotes, backslashes, control characters, lone and paired surrogates) and what it does not.
  const strings = ['https://img.example.com/a.png', `data:image/png;base64,${'QUJD'.repeat(500)}`, 'say "hi"\\n', 'tab\there\u0001', 'é日本語', '\ud83d\ude00 emoji', 'lone \ud800 high', 'lone \udc00 low', '', '</script>'];

  function body(r: ReturnType<typeof random>): unknown {
    const part = (): unknown =>
      r.pick([
        () => ({ type: 'text', text: r.pick(strings) }),
        () => ({ type: 'image_url', image_url: { url: r.pick(strings), ...(r.next() < 0.5 ? { detail: r.pick(['low', 'high', 'auto', 'LOW']) } : {}) } }),
        () => ({ image_url: { detail: 'low', url: r.pick(strings) }, type: 'image_url', extra: r.pick(strings) }),
        () => ({ type: 'image_url', image_url: r.pick(strings) }),
        () => ({ type: 'image_url', image_url: { url: 42 } }),
        () => ({ type: 'input_image', image_url: r.pick(strings), ...(r.next() < 0.5 ? { detail: 'low' } : {}) }),
        () => ({ type: 'input_image', image_url: { url: r.pick(strings) } }),
        () => ({ type: 'input_text', text: r.pick(strings), nested: { type: 'image_url', image_url: { url: r.pick(strings) } } }),
        () => r.pick(strings),
        () => null,
        () => [1, 2, { type: 'image_url', image_url: { url: r.pick(strings) } }],
      ])();
    const message = (): unknown =>
      r.pick([
        () => ({ role: r.pick(['user', 'system', 'assistant']), content: Array.from({ length: Math.floor(r.next() * 6) }, part) }),
        () => ({ role: 'user', content: r.pick(strings) }),
        () => ({ content: Array.from({ length: 2 }, part), role: 'user', name: r.pick(strings) }),
        () => ({ role: 'tool', content: null, tool_call_id: 'x' }),
        () => r.pick(strings),
        () => null,
        () => [{ type: 'image_url', image_url: { url: r.pick(strings) } }],
      ])();
    return r.pick([() => Array.from({ length: Math.floor(r.next() * 8) }, message), () => r.pick(strings), () => ({ role: 'user', content: [] }), () => undefined, () => 12])();
  }

  test('the same estimate as copying every message and part and serializing the copy, on varied bodies', async () => {
    const r = random(20_240_611);
    for (let i = 0; i < 2000; i++) {
      const messages = body(r);
      const reference = copiedInput(messages);
      const chat = await estimateRequest({ model: 'p/cheap', messages, max_tokens: 1 }, '/v1/chat/completions', costOf, noRoutes);
      expect({ i, inputTokens: chat.inputTokens }).toEqual({ i, inputTokens: Math.ceil(reference.chars / 4) + reference.imageTokens });
      const responses = await estimateRequest({ model: 'p/cheap', input: messages, max_output_tokens: 1 }, '/v1/responses', costOf, noRoutes);
      expect({ i, inputTokens: responses.inputTokens }).toEqual({ i, inputTokens: Math.ceil(reference.chars / 4) + reference.imageTokens });
    }
  });

  test('an image URL that JSON escapes is taken off at its escaped length', async () => {
    const url = 'https://img.example.com/"quoted"\\path\n\ud800';
    const messages = [{ role: 'user', content: [{ type: 'image_url', image_url: { url, detail: 'low' } }] }];
    const reference = copiedInput(messages);
    expect(reference.chars).toBe(JSON.stringify(messages).length - (JSON.stringify(url).length - 2));
    const e = await estimateRequest({ model: 'p/cheap', messages, max_tokens: 1 }, '/v1/chat/completions', costOf, noRoutes);
    expect(e.inputTokens).toBe(Math.ceil(reference.chars / 4) + 2833);
  });
});
