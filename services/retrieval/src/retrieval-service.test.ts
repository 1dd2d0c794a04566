import type { Db } from '@quire/db';
import { AnswerResponseSchema, SearchResponseSchema, type Identity } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { NO_ANSWER } from './answer/prompt.js';
import { bm25KeywordQuery } from './search/bm25-retriever.js';
import { vectorQuery } from './search/vector-search.js';
import type { FakeGatewayModels } from './testing/fake-gateway-models.js';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from './testing/retrieval-harness.js';
import { DIMENSIONS, DRAFT, GARDEN_NOTES, HARBOUR_GUIDE, seedCollection, type SeededCollection } from './testing/seed.js';
import { fakeEmbedding } from '@quire/fakes';

const TEAM_A: Identity = { team_id: 'team-a', key_id: 'key-a', role: 'member', groups: [] };
const TEAM_B: Identity = { team_id: 'team-b', key_id: 'key-b', role: 'member', groups: [] };
const QUESTION = 'When is high tide at Port Zephyr?';

let db: Db;
let harness: RetrievalHarness;
let models: FakeGatewayModels;
let main: SeededCollection;
let keywordOnly: SeededCollection;
let bare: SeededCollection;
let planted: string;

async function call(path: string, body?: unknown, identity: Identity | null = TEAM_A, init: RequestInit = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (identity) headers['x-quire-identity'] = signIdentity(identity, SECRET);
  const res = await fetch(`${harness.url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), ...init });
  const text = await res.text();
  return { status: res.status, text, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, any>) : {} };
}

async function ledgerSum(queryId: string): Promise<string | null> {
  const r = await db.query<{ s: string | null }>(`SELECT sum(cost_usd)::text AS s FROM usage_ledger WHERE query_id = $1`, [queryId]);
  return r.rows[0]!.s;
}

function parseSse(text: string): { event: string; data: any }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!);
      return { event, data };
    });
}

beforeAll(async () => {
  harness = await startRetrievalForTest({
    seed: async ({ db }) => {
      main = await seedCollection(db, { teamId: 'team-a', name: 'main', embeddingModel: 'fake/embed', generationModel: 'fake/gen', documents: [HARBOUR_GUIDE, GARDEN_NOTES, DRAFT] });
      keywordOnly = await seedCollection(db, {
        teamId: 'team-a',
        name: 'keyword only',
        embeddingModel: null,
        generationModel: 'fake/unpriced',
        documents: [{ title: 'Timetable', chunks: [{ text: 'The Zephyr ferry timetable lists departures hourly.', page: 2 }] }],
      });
      bare = await seedCollection(db, { teamId: 'team-a', name: 'bare', embeddingModel: null, generationModel: null, withIndexVersion: false, documents: [] });
      await seedCollection(db, { teamId: 'team-b', name: 'other', embeddingModel: 'fake/embed', generationModel: 'fake/gen', documents: [HARBOUR_GUIDE] });
      planted = main.chunkIds[0]![2]!;
    },
  });
  ({ db, models } = harness);
});

afterAll(() => harness?.close());

describe('search', () => {
  test.each(['keyword', 'vector', 'hybrid'] as const)('%s mode returns the planted chunk first', async (mode) => {
    const res = await call(`/v1/collections/${main.collectionId}/search`, { query: QUESTION, mode, top_k: 5 });
    expect(res.status).toBe(200);
    const body = SearchResponseSchema.parse(res.json);
    expect(body.mode).toBe(mode);
    const top = body.results[0]!;
    expect(top).toMatchObject({ chunk_id: planted, document_title: 'Harbour Guide', page_start: 3, heading_path: ['Tides', 'Port Zephyr'], rank: 1 });
    expect(top.text).toContain('5pm');
    const leg = mode === 'hybrid' ? 'fused' : mode;
    expect(top.score).toBe(top.scores[leg]);
    if (mode !== 'keyword') expect(top.scores.vector).toBeGreaterThan(0.5);
    // The draft (still processing) holds the same words but is never searchable.
    expect(body.results.map((r) => r.document_id)).not.toContain(main.documentIds[2]);
  });

  test('hybrid is the default; usage and timings come from the ledger, exactly', async () => {
    const res = await call(`/v1/collections/${main.collectionId}/search`, { query: QUESTION });
    const body = SearchResponseSchema.parse(res.json);
    expect(body.mode).toBe('hybrid');
    expect(body.usage.by_stage['query-embed']).toMatchObject({ calls: 1 });
    expect(body.usage.cost_usd).toBe(Number(await ledgerSum(body.query_id)));
    expect(body.usage.unpriced_calls).toBe(0);
    expect(Object.keys(body.timings_ms)).toEqual(expect.arrayContaining(['embed', 'vector', 'keyword', 'fuse', 'total']));
    // The two legs run at the same time: the search stage is the longer of them, not their sum.
    const t = body.timings_ms as Record<string, number>;
    expect(t.search).toBe(Math.max(t.vector!, t.keyword!));
    const stored = await call(`/v1/queries/${body.query_id}`);
    expect(stored.json).toMatchObject({ kind: 'search', status: 'ok', mode: 'hybrid', usage: body.usage });
    expect(stored.json.results[0]).toMatchObject({ chunk_id: planted, rank: 1 });
  });

  test('filters by document and metadata apply inside the SQL and still fill top_k', async () => {
    const garden = main.documentIds[1]!;
    for (const filters of [{ document_ids: [garden] }, { metadata: { tags: ['garden'] } }, { metadata: { lang: 'fr' } }]) {
      const res = await call(`/v1/collections/${main.collectionId}/search`, { query: QUESTION, top_k: 4, mode: 'hybrid', filters });
      const body = SearchResponseSchema.parse(res.json);
      expect(body.results).toHaveLength(4);
      expect(new Set(body.results.map((r) => r.document_id))).toEqual(new Set([garden]));
    }
  });

  test('a keyword-only collection searches by keyword and refuses vector modes', async () => {
    const ok = await call(`/v1/collections/${keywordOnly.collectionId}/search`, { query: 'zephyr ferry' });
    expect(ok.json.mode).toBe('keyword');
    expect(ok.json.results).toHaveLength(1);
    const refused = await call(`/v1/collections/${keywordOnly.collectionId}/search`, { query: 'zephyr', mode: 'vector' });
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe('no_embedding_model');
  });

  test('the vector query uses the HNSW index, the BM25 query the postings index', async () => {
    class Rollback {
      constructor(readonly plans: { vector: string; keyword: string }) {}
    }
    const plans = await db
      .transaction(async (tx) => {
        // A real collection is large next to what one query matches; with 15 chunks a scan of the
        // collection costs as little as an index. Filler rows (rolled back below) make it realistic.
        await tx.query(
          `INSERT INTO chunks (document_id, collection_id, ordinal, text, content_sha256, char_start, char_end)
SELECT $1, $2, 1000 + i, 'Filler paragraph ' || i || ' about mooring ropes and sails.', 'sha', 0, 10 FROM generate_series(1, 500) AS i`,
          [main.documentIds[1], main.collectionId],
        );
        // Give the planner statistics, as autovacuum would on a live database.
        await tx.query('ANALYZE chunks');
        await tx.query('ANALYZE documents');
        // Tiny tables make a sequential scan cheaper; switching it off shows the index is usable.
        await tx.query('SET LOCAL enable_seqscan = off');
        const v = vectorQuery({ collectionId: main.collectionId, indexVersionId: main.indexVersionId!, dimensions: DIMENSIONS, embedding: fakeEmbedding(QUESTION, DIMENSIONS), limit: 10, filters: { metadata: { lang: 'en' } } });
        const k = bm25KeywordQuery(main.collectionId, QUESTION, 10);
        const plan = async (sql: string, params: unknown[]) => (await tx.query<Record<string, string>>(`EXPLAIN ${sql}`, params)).rows.map((r) => Object.values(r)[0]).join('\n');
        throw new Rollback({ vector: await plan(v.sql, v.params), keyword: await plan(k.sql, k.params) });
      })
      .catch((e: unknown) => {
        if (e instanceof Rollback) return e.plans;
        throw e;
      });
    expect(plans.vector).toContain(`chunk_vectors_hnsw_${main.indexVersionId!.replace(/-/g, '')}`);
    expect(plans.keyword).toContain('bm25_postings_term_idx');
  });
});

describe('answer', () => {
  test('cites the right chunk and page, drops an invalid marker, costs what the ledger says', async () => {
    models.reply = () => ['High tide at Port Zephyr is at 5pm on Tuesdays [1]. Ferries run hourly [9].'];
    const res = await call(`/v1/collections/${main.collectionId}/answer`, { question: QUESTION, top_k: 3 });
    expect(res.status).toBe(200);
    const body = AnswerResponseSchema.parse(res.json);
    expect(body.answer).toBe('High tide at Port Zephyr is at 5pm on Tuesdays [1]. Ferries run hourly.');
    expect(body.citations).toEqual([
      expect.objectContaining({ index: 1, chunk_id: planted, document_id: main.documentIds[0], page: 3, page_end: 3, quote: 'High tide at Port Zephyr arrives at 5pm every Tuesday.' }),
    ]);
    expect(Object.keys(body.usage.by_stage).sort()).toEqual(['generate', 'query-embed']);
    const sum = await ledgerSum(body.query_id);
    expect(sum).toBe('0.000000300000');
    expect(body.usage.cost_usd).toBe(0.0000003);
    const stored = await call(`/v1/queries/${body.query_id}`);
    expect(stored.json).toMatchObject({ kind: 'answer', status: 'ok', answer: body.answer, citations: body.citations });
  });

  test('finds nothing: a fixed answer and no model call', async () => {
    const before = models.calls.filter((c) => c.purpose === 'generate').length;
    const res = await call(`/v1/collections/${main.collectionId}/answer`, { question: 'xylophone quartz', mode: 'keyword' });
    const body = AnswerResponseSchema.parse(res.json);
    expect(body).toMatchObject({ answer: NO_ANSWER, citations: [], usage: { cost_usd: 0, unpriced_calls: 0 } });
    expect(models.calls.filter((c) => c.purpose === 'generate').length).toBe(before);
  });

  test('an unpriced model makes the cost null; a collection without a generation model is refused', async () => {
    models.reply = () => ['Departures are hourly [1].'];
    const res = await call(`/v1/collections/${keywordOnly.collectionId}/answer`, { question: 'zephyr ferry timetable' });
    const body = AnswerResponseSchema.parse(res.json);
    expect(body.usage).toMatchObject({ cost_usd: null, unpriced_calls: 1 });
    const refused = await call(`/v1/collections/${bare.collectionId}/answer`, { question: 'anything' });
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe('no_generation_model');
  });

  test('streams retrieval, deltas, citations, usage, done', async () => {
    models.reply = () => ['High tide is ', 'at 5pm [', '1] and ferries', ' run [', '9', ']. Yes [1, 7].'];
    const res = await call(`/v1/collections/${main.collectionId}/answer`, { question: QUESTION, top_k: 3, stream: true });
    expect(res.status).toBe(200);
    const events = parseSse(res.text);
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('retrieval');
    expect(names.slice(-3)).toEqual(['citations', 'usage', 'done']);
    expect(new Set(names.slice(1, -3))).toEqual(new Set(['delta']));
    expect(events[0]!.data.sources[0]).toMatchObject({ index: 1, chunk_id: planted, page_start: 3 });
    const text = events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
    expect(text).toBe('High tide is at 5pm [1] and ferries run. Yes [1].');
    expect(events.at(-3)!.data.citations).toEqual([expect.objectContaining({ index: 1, chunk_id: planted, page: 3 })]);
    const done = events.at(-1)!.data;
    expect(Object.keys(done.timings_ms)).toEqual(expect.arrayContaining(['retrieve', 'first_token', 'generate', 'total']));
    expect(events.at(-2)!.data.usage.cost_usd).toBe(Number(await ledgerSum(done.query_id)));
  });

  test('a client that disconnects aborts the generation and the query is recorded as cancelled', async () => {
    models.reply = () => ['Partial answer', '<wait>', 'never sent'];
    const controller = new AbortController();
    const res = await fetch(`${harness.url}/v1/collections/${main.collectionId}/answer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(TEAM_A, SECRET) },
      body: JSON.stringify({ question: QUESTION, stream: true }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('event: delta')) seen += new TextDecoder().decode((await reader.read()).value);
    const queryId = /"query_id":"([^"]+)"/.exec(seen)![1]!;
    controller.abort();
    let status: string | undefined;
    for (let i = 0; i < 100 && !status; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = (await db.query<{ status: string }>(`SELECT status FROM queries WHERE id = $1`, [queryId])).rows[0]?.status;
    }
    expect(status).toBe('cancelled');
  });
});

describe('access', () => {
  test("another team's collection and query answer 404 like missing ones", async () => {
    const res = await call(`/v1/collections/${main.collectionId}/search`, { query: QUESTION }, TEAM_B);
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('collection_not_found');
    const missing = await call(`/v1/collections/00000000-0000-4000-8000-000000000000/search`, { query: QUESTION });
    expect(missing.json.error).toMatchObject({ code: 'collection_not_found', message: expect.any(String) });
    const mine = await call(`/v1/collections/${main.collectionId}/search`, { query: QUESTION, mode: 'keyword' });
    const other = await call(`/v1/queries/${mine.json.query_id}`, undefined, TEAM_B);
    expect(other.status).toBe(404);
    expect(other.json.error.code).toBe('query_not_found');
  });

  test('a missing or forged identity is refused with 401', async () => {
    const none = await call(`/v1/collections/${main.collectionId}/search`, { query: QUESTION }, null);
    expect(none.status).toBe(401);
    const forged = await fetch(`${harness.url}/v1/collections/${main.collectionId}/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(TEAM_A, 'some-other-secret-0123456789') },
      body: JSON.stringify({ query: QUESTION }),
    });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as any).error.code).toBe('invalid_identity');
  });
});
