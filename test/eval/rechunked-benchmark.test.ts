import { openTestDatabase, type Db } from '@quire/db';
import { importBeir } from '@quire/eval';
import type { FakeOpenAI } from '@quire/fakes';
import type { RunningQuire } from '../../scripts/start-quire.js';
import { generateBeirSet } from './beir-fixture.js';
import { startEvalFake, startEvalQuire, type TestEvalClient } from './eval-harness.js';

/**
 * A benchmark configuration that names an index version built with other chunking must measure that
 * version's own chunk set (its chunks, its vectors, BM25 over its chunks), not the active chunks.
 */
describe('benchmarking a re-chunked index version', () => {
  let db: Db;
  let openai: FakeOpenAI;
  let quire: RunningQuire;
  let client: TestEvalClient;
  let collectionId: string;
  let evalSetId: string;
  let versionId: string;

  const ACTIVE_SIZE = 1000;
  const VERSION_SIZE = 64;

  beforeAll(async () => {
    openai = await startEvalFake();
    db = await openTestDatabase();
    ({ quire, client } = await startEvalQuire(db, openai));
    const collection = await client.request('POST', '/v1/collections', {
      name: 'rechunk eval',
      embedding_model: 'openai/text-embedding-3-small',
      chunking: { strategy: 'recursive', chunk_size: ACTIVE_SIZE, chunk_overlap: 0 },
    });
    collectionId = collection.id;
    const evalSet = await importBeir(client, { collectionId, name: 'generated beir', ...generateBeirSet() });
    evalSetId = evalSet.id;
    const built = await client.request('POST', `/v1/collections/${collectionId}/index-versions`, {
      embedding_model: 'openai/text-embedding-3-small',
      chunking: { strategy: 'recursive', chunk_size: VERSION_SIZE, chunk_overlap: 0 },
    });
    versionId = built.id;
    for (const deadline = Date.now() + 60_000; ; ) {
      const v = (await client.request('GET', `/v1/collections/${collectionId}/index-versions`)).data.find((x: any) => x.id === versionId);
      if (v.status === 'ready') break;
      if (v.status === 'failed' || Date.now() > deadline) throw new Error(`version build ${v.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 120_000);
  afterAll(async () => {
    await quire?.stop();
    await openai?.close();
    await db?.close();
  });

  /** Every chunk a configuration ranked: which set it belongs to and how long it is. */
  async function rankedChunks(benchmarkId: string, config: number) {
    const r = await db.query<{ id: string; set: string | null; len: number }>(
      `SELECT c.id, c.index_version_id AS set, length(c.text)::int AS len
         FROM benchmark_results r CROSS JOIN LATERAL jsonb_array_elements(r.ranked) x JOIN chunks c ON c.id = (x->>'chunk_id')::uuid
        WHERE r.benchmark_id = $1 AND r.config_index = $2`,
      [benchmarkId, config],
    );
    const results = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM benchmark_results r WHERE r.benchmark_id = $1 AND r.config_index = $2 AND jsonb_array_length(r.ranked) = 0`, [benchmarkId, config]);
    return { rows: r.rows, emptyCases: Number(results.rows[0]!.n) };
  }

  test('the two chunk sets differ: the version has its own, smaller chunks', async () => {
    const sets = await db.query<{ set: string | null; n: number; longest: number }>(
      `SELECT index_version_id AS set, count(*)::int AS n, max(length(text))::int AS longest FROM chunks WHERE collection_id = $1 GROUP BY index_version_id`,
      [collectionId],
    );
    const active = sets.rows.find((s) => s.set === null)!;
    const version = sets.rows.find((s) => s.set === versionId)!;
    expect(version.n).toBeGreaterThan(active.n * 2);
    expect(version.longest).toBeLessThanOrEqual(VERSION_SIZE);
    expect(active.longest).toBeGreaterThan(VERSION_SIZE);
  });

  /** Benchmarks each mode on the active set and on the version; checks what the version's configurations ranked. */
  async function benchmarkVersion(modes: readonly ('vector' | 'keyword' | 'hybrid')[]) {
    const created = await client.request('POST', '/v1/benchmarks', {
      eval_set_id: evalSetId,
      configurations: [
        ...modes.map((mode) => ({ name: `active-${mode}`, mode, top_k: 10 })),
        ...modes.map((mode) => ({ name: `rechunked-${mode}`, mode, top_k: 10, index_version_id: versionId })),
      ],
    });
    const b = await client.waitForBenchmark(created.id, { timeoutMs: 90_000 });
    expect(b.status).toBe('completed');
    for (const [i, mode] of modes.entries()) {
      const active = await rankedChunks(b.id, i);
      const rechunked = await rankedChunks(b.id, i + modes.length);
      // The active configurations read the active set only, the version's only its own chunks.
      expect(active.rows.length).toBeGreaterThan(0);
      expect(active.rows.every((c) => c.set === null)).toBe(true);
      expect(rechunked.emptyCases).toBe(0);
      expect(rechunked.rows.length).toBeGreaterThan(0);
      expect(rechunked.rows.filter((c) => c.set !== versionId)).toEqual([]);
      expect(Math.max(...rechunked.rows.map((c) => c.len))).toBeLessThanOrEqual(VERSION_SIZE);

      // Judgments are per document, so both sets are measured on the same questions and relevance.
      const a = b.summary[i];
      const r = b.summary[i + modes.length];
      expect(r.name).toBe(`rechunked-${mode}`);
      expect(r.errors).toBe(0);
      expect(r.metrics['ndcg@10'].n).toBe(12);
      expect(r.metrics['ndcg@10'].mean).toBeGreaterThan(0.3);
      expect(a.metrics['ndcg@10'].mean).toBeGreaterThan(0.3);
    }
  }

  test('vector and hybrid configurations on the version search its chunks with its vectors', async () => {
    await benchmarkVersion(['vector', 'hybrid']);
  }, 120_000);

  test('a keyword configuration on the version runs BM25 over its chunks (not refused: the chunking differs)', async () => {
    await benchmarkVersion(['keyword']);
  }, 120_000);

  test('ordinary search still reads the active chunk set', async () => {
    const out = await client.request('POST', `/v1/collections/${collectionId}/search`, { query: 'what about reports', mode: 'hybrid', top_k: 10 });
    expect(out.results.length).toBeGreaterThan(0);
    const ids = out.results.map((r: any) => r.chunk_id);
    const sets = await db.query<{ set: string | null }>(`SELECT DISTINCT index_version_id AS set FROM chunks WHERE id = ANY($1::uuid[])`, [ids]);
    expect(sets.rows).toEqual([{ set: null }]);
  });
});
