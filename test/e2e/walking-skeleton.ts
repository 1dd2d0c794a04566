import { countTokens, openAIPromptTokens } from '@quire/fakes';
import type { Harness } from './quire-harness.js';
import { AUTH, citingReply, TEST_PRICES, waitForDocument } from './quire-harness.js';
import { makePdf } from './pdf-fixture.js';

const FILLER = [
  'This handbook describes how the company organises its teams and offices.',
  'Employees should read each section before their first week at work.',
];

/** Exact decimal arithmetic for the expected cost: tokens x USD per million, in integer pico-dollars. */
function picoUsd(tokens: number, pricePerMillion: string): bigint {
  const [whole, frac = ''] = pricePerMillion.split('.');
  const scaled = BigInt(whole! + frac.padEnd(6, '0')); // price in micro-USD per million tokens
  return BigInt(tokens) * scaled; // = pico-USD (1e-12 USD)
}
const usdFromPico = (pico: bigint) => Number(pico) / 1e12;

/**
 * The whole path a person takes: create a collection, upload a PDF, wait, search, ask, and check
 * that citations land on the right page and the ledger and the cost tell the truth.
 */
export function walkingSkeletonSuite(name: string, start: () => Promise<Harness>) {
  describe(name, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await start();
    }, 60_000);
    afterAll(async () => {
      await h?.stop();
    });

    test('upload a PDF, search it, and get a cited answer with its true cost', async () => {
      const base = h.quire.url;
      const created = await fetch(`${base}/v1/collections`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...AUTH },
        body: JSON.stringify({ name: `Handbook ${Date.now()}`, embedding_model: 'openai/text-embedding-3-small', generation_model: 'openai/gpt-4o-mini' }),
      });
      expect(created.status).toBe(201);
      const collection = ((await created.json()) as any);

      const pdf = await makePdf([
        ['Company handbook', ...FILLER],
        ['Chapter 2: Equipment', 'Every laptop comes with a hardware warranty.', 'The warranty period for company laptops is 36 months from delivery.'],
        ['Chapter 3: Travel', 'Book trains two weeks ahead.', 'Hotels must be approved by a manager.'],
      ]);
      const form = new FormData();
      form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'handbook.pdf');
      form.append('metadata', JSON.stringify({ department: 'it' }));
      const uploaded = await fetch(`${base}/v1/collections/${collection.id}/documents`, { method: 'POST', headers: AUTH, body: form });
      expect(uploaded.status).toBe(202);
      const [queued] = (((await uploaded.json()) as any)).documents;
      expect(queued.status).toBe('queued');

      const doc = await waitForDocument(base, queued.id);
      expect(doc.status).toBe('ready');
      expect(doc.progress.pages_total).toBe(3);

      const searchRes = await fetch(`${base}/v1/collections/${collection.id}/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...AUTH },
        body: JSON.stringify({ query: 'warranty period for company laptops', top_k: 3 }),
      });
      expect(searchRes.status).toBe(200);
      const search = ((await searchRes.json()) as any);
      expect(search.mode).toBe('hybrid');
      expect(search.results[0].document_id).toBe(queued.id);
      expect(search.results[0].page_start).toBe(2);
      expect(search.results[0].text).toContain('36 months');

      const answerRes = await fetch(`${base}/v1/collections/${collection.id}/answer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...AUTH },
        body: JSON.stringify({ question: 'How long is the warranty on company laptops?' }),
      });
      expect(answerRes.status).toBe(200);
      const answer = ((await answerRes.json()) as any);
      expect(answer.answer).toMatch(/36 months \[\d+\]/);
      expect(answer.citations.length).toBeGreaterThanOrEqual(1);
      expect(answer.citations[0].page).toBe(2);
      expect(answer.citations[0].document_id).toBe(queued.id);

      // One ledger row per model call the fake provider saw.
      const providerCalls = h.openai.requests.filter((r) => r.method === 'POST').length;
      const ledger = await h.quire.db.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_ledger');
      expect(ledger.rows[0]!.n).toBe(providerCalls);

      // The answer's cost is the fake's reported usage times the catalog price, exactly.
      const embedCall = h.openai.requests.filter((r) => r.path === '/v1/embeddings').at(-1)!;
      const chatCall = h.openai.requests.filter((r) => r.path === '/v1/chat/completions').at(-1)!;
      expect(embedCall.body.input).toEqual(['How long is the warranty on company laptops?']);
      const rows = await h.quire.db.query<{ purpose: string }>('SELECT purpose FROM usage_ledger WHERE query_id = $1 ORDER BY id', [answer.query_id]);
      expect(rows.rows.map((r) => r.purpose)).toEqual(['query-embed', 'generate']);
      // What the fake provider reported for those two calls (its token counting is deterministic).
      const embedTokens = countTokens(embedCall.body.input[0]);
      const promptTokens = openAIPromptTokens(chatCall.body);
      const completionTokens = countTokens(citingReply(chatCall.body));
      const expected =
        picoUsd(embedTokens, TEST_PRICES['openai/text-embedding-3-small'].input) +
        picoUsd(promptTokens, TEST_PRICES['openai/gpt-4o-mini'].input) +
        picoUsd(completionTokens, TEST_PRICES['openai/gpt-4o-mini'].output);
      expect(answer.usage.cost_usd).toBeCloseTo(usdFromPico(expected), 12);
      expect(answer.usage.cost_usd).toBeGreaterThan(0);
    });
  });
}
