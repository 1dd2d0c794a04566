import { openTestDatabase, type Db } from '@quire/db';
import type { FakeOpenAI } from '@quire/fakes';
import type { RunningQuire } from '../../scripts/start-quire.js';
import { E2E_ADMIN_KEY } from '../e2e/quire-harness.js';
import { seedCollection, startEvalFake, startEvalQuire, type TestEvalClient } from './eval-harness.js';

describe('eval sets from JSONL and from the collection itself', () => {
  let db: Db;
  let openai: FakeOpenAI;
  let quire: RunningQuire;
  let client: TestEvalClient;
  let seeded: Awaited<ReturnType<typeof seedCollection>>;

  beforeAll(async () => {
    openai = await startEvalFake();
    db = await openTestDatabase();
    ({ quire, client } = await startEvalQuire(db, openai));
    seeded = await seedCollection(client, { docs: 12, queries: 4 });
  }, 120_000);
  afterAll(async () => {
    await quire?.stop();
    await openai?.close();
    await db?.close();
  });

  test('JSONL import adds one case per line and names the line that is wrong', async () => {
    const set = await client.request('POST', '/v1/eval-sets', { collection_id: seeded.collection.id, name: 'from jsonl' });
    const firstDoc = seeded.evalSet.cases > 0 ? (await client.request('GET', `/v1/eval-sets/${seeded.evalSet.id}`)).data[0].relevant[0].document_id : undefined;
    const jsonl = [
      JSON.stringify({ question: 'Which report covers the first topic?', relevant_document_ids: [firstDoc], reference_answer: 'The first one.' }),
      '',
      JSON.stringify({ question: 'A question with graded relevance', relevant: [{ document_id: firstDoc, grade: 2 }], external_id: 'q-2' }),
    ].join('\n');
    const imported = await client.request('POST', `/v1/eval-sets/${set.id}/import`, { jsonl });
    expect(imported.ids).toHaveLength(2);
    const read = await client.request('GET', `/v1/eval-sets/${set.id}`);
    expect(read.data.map((c: any) => c.question)).toEqual(['Which report covers the first topic?', 'A question with graded relevance']);
    expect(read.data[0].reference_answer).toBe('The first one.');
    expect(read.data[1].relevant).toEqual([expect.objectContaining({ document_id: firstDoc, grade: 2 })]);

    const bad = await fetch(`${quire.url}/v1/eval-sets/${set.id}/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${E2E_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonl: `${JSON.stringify({ question: 'fine' })}\n{not json` }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toMatch(/Line 2/);
    // Nothing from the refused file was added.
    expect((await client.request('GET', `/v1/eval-sets/${set.id}`)).data).toHaveLength(2);
  }, 60_000);

  test('a draft set generated from the collection is marked synthetic, points at its source chunks, and is metered', async () => {
    const before = openai.requests.filter((r) => r.path === '/v1/chat/completions').length;
    const set = await client.request('POST', '/v1/eval-sets/generate', { collection_id: seeded.collection.id, name: 'draft', model: 'openai/gpt-4o-mini', count: 3, seed: 7 });
    expect(set.synthetic).toBe(true);
    const read = await client.request('GET', `/v1/eval-sets/${set.id}`);
    expect(read.data).toHaveLength(3);
    for (const c of read.data) {
      expect(c.question).toMatch(/^What does the report say about /);
      expect(c.relevant).toHaveLength(1);
      expect(c.relevant[0].chunk_id).toEqual(expect.any(String));
      const chunk = await db.query<{ document_id: string }>('SELECT document_id FROM chunks WHERE id = $1', [c.relevant[0].chunk_id]);
      expect(chunk.rows[0]!.document_id).toBe(c.relevant[0].document_id);
    }
    const calls = openai.requests.filter((r) => r.path === '/v1/chat/completions').length - before;
    expect(calls).toBe(3);
    const ledger = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM usage_ledger WHERE purpose = 'generate' AND collection_id = $1 AND query_id IS NULL`, [seeded.collection.id]);
    expect(ledger.rows[0]!.n).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
