import { openTestDatabase, type Db } from '@quire/db';
import { importBeir } from '@quire/eval';
import type { FakeOpenAI } from '@quire/fakes';
import type { RunningQuire } from '../../scripts/start-quire.js';
import { generateBeirSet } from './beir-fixture.js';
import { startEvalFake, startEvalQuire, type TestEvalClient } from './eval-harness.js';

/**
 * Cases judged by chunk (synthetic sets, hand-picked passages) across the promotion of an index
 * version built with other chunking. Activation relabels the old active chunks to the outgoing
 * version, so the judged chunk ids still exist (the cases are not stale) but are no longer in the set
 * the collection searches. The judgments must be mapped onto the new active chunks, as they are onto
 * a re-chunked version's own set, and count once each: the same passage retrieved first scores the
 * same before and after, and a rollback check on the outgoing version (which keeps the judged
 * chunks) scores on the same footing.
 */
describe('chunk judgments across the promotion of a re-chunked index version', () => {
  let db: Db;
  let openai: FakeOpenAI;
  let quire: RunningQuire;
  let client: TestEvalClient;

  beforeAll(async () => {
    openai = await startEvalFake();
    db = await openTestDatabase();
    ({ quire, client } = await startEvalQuire(db, openai));
  }, 60_000);
  afterAll(async () => {
    await quire?.stop();
    await openai?.close();
    await db?.close();
  });

  test('nDCG@10 stays 1.0 on the new active set and on the retired one, with no stale or unjudged cases', async () => {
    const collection = await client.request('POST', '/v1/collections', {
      name: 'rechunk promote',
      embedding_model: 'openai/text-embedding-3-small',
      chunking: { strategy: 'recursive', chunk_size: 1000, chunk_overlap: 0 },
    });
    const cid = collection.id as string;
    await importBeir(client, { collectionId: cid, name: 'beir', ...generateBeirSet() });
    const oldVersion = (await db.query<{ id: string }>(`SELECT current_index_version_id AS id FROM collections WHERE id = $1`, [cid])).rows[0]!.id;
    // One case per active chunk (6 of them): the question is the chunk's opening words, the judgment the chunk.
    const chunks = await db.query<{ id: string; document_id: string; text: string }>(
      `SELECT id, document_id, text FROM chunks WHERE collection_id = $1 AND index_version_id IS NULL ORDER BY id LIMIT 6`,
      [cid],
    );
    const set = await client.request('POST', '/v1/eval-sets', {
      collection_id: cid,
      name: 'chunk-judged',
      cases: chunks.rows.map((c) => ({ question: c.text.split(/\s+/).slice(0, 12).join(' '), relevant: [{ chunk_id: c.id, grade: 1 }] })),
    });
    const built = await client.request('POST', `/v1/collections/${cid}/index-versions`, {
      embedding_model: 'openai/text-embedding-3-small',
      chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 },
    });
    for (const deadline = Date.now() + 60_000; ; ) {
      const v = (await client.request('GET', `/v1/collections/${cid}/index-versions`)).data.find((x: any) => x.id === built.id);
      if (v.status === 'ready') break;
      if (v.status === 'failed' || Date.now() > deadline) throw new Error(`build ${v.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const run = async (configurations: object[]) => {
      const created = await client.request('POST', '/v1/benchmarks', { eval_set_id: set.id, configurations });
      const b = await client.waitForBenchmark(created.id, { timeoutMs: 60_000 });
      expect(b.status).toBe('completed');
      return b;
    };
    const expectPerfect = (b: any, name: string, n = 6) => {
      const s = b.summary.find((x: any) => x.name === name);
      expect({ name, ndcg: s.metrics['ndcg@10'].mean, n: s.metrics['ndcg@10'].n, unjudged: s.unjudged_cases, errors: s.errors }).toEqual({ name, ndcg: 1, n, unjudged: 0, errors: 0 });
    };

    // Before: the active set holds the judged chunks; the version's 200-character pieces stand for them,
    // each judged passage counting once however many pieces it was split into.
    const before = await run([
      { name: 'current', mode: 'keyword', top_k: 10 },
      { name: 'candidate', mode: 'keyword', top_k: 10, index_version_id: built.id },
    ]);
    expect(before.stale_cases.count).toBe(0);
    expectPerfect(before, 'current');
    expectPerfect(before, 'candidate');

    const promoted = await client.request('POST', `/v1/collections/${cid}/index-versions/${built.id}/promote`, { force: true });
    expect(promoted.index_version_id).toBe(built.id);
    // The judged chunks now belong to the outgoing version's set: they exist, but are not active.
    const judged = await db.query<{ set: string | null }>(`SELECT DISTINCT index_version_id AS set FROM chunks WHERE id = ANY($1::uuid[])`, [chunks.rows.map((c) => c.id)]);
    expect(judged.rows).toEqual([{ set: oldVersion }]);

    // After: the new active set is scored on the mapped judgments (it scored 0 with no stale case before
    // the fix); the rollback check on the outgoing version reads the judged chunks themselves.
    const after = await run([
      { name: 'current', mode: 'keyword', top_k: 10 },
      { name: 'rollback', mode: 'keyword', top_k: 10, index_version_id: oldVersion },
    ]);
    expect(after.stale_cases.count).toBe(0);
    expectPerfect(after, 'current');
    expectPerfect(after, 'rollback');
    const cmp = await client.request('GET', `/v1/benchmarks/${after.id}/compare?a=rollback&b=current`);
    expect(cmp.comparisons.find((c: any) => c.metric === 'ndcg@10')).toMatchObject({ n: 6 });

    // A judged document deleted: its case is stale (listed, left out), the others still score 1.0.
    const gone = chunks.rows[0]!.document_id;
    const affected = chunks.rows.filter((c) => c.document_id === gone).length;
    await client.request('DELETE', `/v1/documents/${gone}`);
    const view = await client.request('GET', `/v1/benchmarks/${after.id}`);
    expect(view.stale_cases.count).toBe(affected);
    expectPerfect(view, 'current', 6 - affected);
  }, 150_000);
});
