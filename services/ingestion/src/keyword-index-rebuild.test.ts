import { randomUUID } from 'node:crypto';
import { openTestDatabase, type Db } from '@quire/db';
import { claimKeywordIndexRebuild } from '@quire/index-versions';
import { ANALYZER_VERSION, bm25Search, writePostings } from '@quire/keyword-index';
import { createLogger } from '@quire/server-kit';
import { createIngestionService, type IngestionService, type IngestionServiceDeps } from './ingestion-service.js';
import { getCollection } from './repo/collections-repo.js';
import { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import { TEST_SECRET } from './testing/http.js';

const HAN = '请使用VPN连接公司网络。';
/** What the analyser's 1st version wrote for HAN: the whole run bigrammed across the script change, so `VPN` is no term. */
const HAN_V1 = ['请使', '使用', '用v', 'vp', 'pn', 'n连', '连接', '接公', '公司', '司网', '网络'];

async function seedCollection(db: Db, state: { version: number; language: 'english' | 'simple' }): Promise<string> {
  const id = randomUUID();
  await db.query(`INSERT INTO collections (id, team_id, name, chunking) VALUES ($1, 'default', $2, '{}')`, [id, `c-${id}`]);
  await db.query(`INSERT INTO keyword_index_state (collection_id, analyzer_version, language) VALUES ($1, $2, $3)`, [id, state.version, state.language]);
  return id;
}

async function addChunk(db: Db, collectionId: string, text: string): Promise<string> {
  return db.transaction(async (tx) => {
    const doc = await tx.query<{ id: string }>(
      `INSERT INTO documents (collection_id, team_id, mime_type, byte_size, content_sha256, status) VALUES ($1, 'default', 'text/plain', 1, 'x', 'ready') RETURNING id`,
      [collectionId],
    );
    const r = await tx.query<{ id: string }>(
      `INSERT INTO chunks (document_id, collection_id, ordinal, text, content_sha256, char_start, char_end) VALUES ($1, $2, 0, $3, 'x', 0, $4) RETURNING id`,
      [doc.rows[0]!.id, collectionId, text, text.length],
    );
    return r.rows[0]!.id;
  });
}

/** A chunk as the 1st version indexed it (written by hand, as bm25-search.test.ts does): v1 terms, no analyser tag. */
async function addV1Chunk(db: Db, collectionId: string): Promise<string> {
  const chunkId = await addChunk(db, collectionId, HAN);
  await db.transaction(async (tx) => {
    await tx.query(`INSERT INTO bm25_chunks (chunk_id, collection_id, length) VALUES ($1, $2, $3)`, [chunkId, collectionId, HAN_V1.length]);
    for (const [position, term] of HAN_V1.entries()) {
      await tx.query(`INSERT INTO bm25_postings (collection_id, term, chunk_id, tf, doc_length, positions) VALUES ($1, $2, $3, 1, $4, ARRAY[$5::int])`, [collectionId, term, chunkId, HAN_V1.length, position]);
    }
  });
  return chunkId;
}

async function startService(db: Db, keywordIndex: IngestionServiceDeps['keywordIndex'] = {}): Promise<IngestionService> {
  const service = await createIngestionService({
    db,
    models: createFakeGatewayModels({ dimensions: 32 }).models,
    logger: createLogger({ test: 'keyword-index-rebuild' }, 'error'),
    internalSecret: TEST_SECRET,
    limits: { reconcileIntervalMs: 3_600_000, retryBaseDelayMs: 5 },
    keywordIndex,
  });
  await service.start();
  return service;
}

const hits = async (db: Db, collectionId: string, query: string, analyzer?: 'english' | 'simple') =>
  (await bm25Search(db, collectionId, query, { limit: 10, ...(analyzer ? { analyzer } : {}) })).map((h) => h.chunkId).sort();

/** The statistics the triggers keep equal what the postings say, and no chunk has two sets of postings. */
async function expectConsistent(db: Db, collectionId: string): Promise<void> {
  const stats = await db.query<{ doc_count: number; total_length: number }>(`SELECT doc_count::int, total_length::int FROM bm25_collection_stats WHERE collection_id = $1`, [collectionId]);
  const actual = await db.query<{ doc_count: number; total_length: number }>(`SELECT count(*)::int AS doc_count, COALESCE(sum(length), 0)::int AS total_length FROM bm25_chunks WHERE collection_id = $1`, [collectionId]);
  expect(stats.rows[0]).toEqual(actual.rows[0]);
  const df = await db.query(
    `SELECT p.term FROM (SELECT term, count(*)::int AS n FROM bm25_postings WHERE collection_id = $1 GROUP BY term) p
       FULL JOIN (SELECT term, df FROM bm25_terms WHERE collection_id = $1) t ON t.term = p.term
      WHERE p.n IS DISTINCT FROM t.df`,
    [collectionId],
  );
  expect(df.rows).toEqual([]);
  // A chunk's postings are all of one analysis: its v1 bigrams across the script change, or its v2 `vpn`, never both.
  const mixed = await db.query(
    `SELECT chunk_id FROM bm25_postings WHERE collection_id = $1 GROUP BY chunk_id HAVING bool_or(term = 'vpn') AND bool_or(term = '用v')`,
    [collectionId],
  );
  expect(mixed.rows).toEqual([]);
  const lengths = await db.query(`SELECT b.chunk_id FROM bm25_chunks b JOIN bm25_postings p ON p.chunk_id = b.chunk_id WHERE b.collection_id = $1 AND p.doc_length <> b.length`, [collectionId]);
  expect(lengths.rows).toEqual([]);
}

describe('keyword index rebuild', () => {
  let db: Db;
  let service: IngestionService | undefined;
  beforeEach(async () => {
    db = await openTestDatabase();
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
    await db.close();
  });

  test("a collection indexed by the analyser's 1st version is rebuilt at start and then finds VPN inside Han text", async () => {
    const collectionId = await seedCollection(db, { version: 1, language: 'english' });
    const chunkId = await addV1Chunk(db, collectionId);
    expect(await hits(db, collectionId, 'VPN')).toEqual([]);
    // The old match still works before the rebuild (the query carries the 1st version's terms).
    expect(await hits(db, collectionId, '使用VPN连接')).toEqual([chunkId]);

    service = await startService(db);
    await service.keywordIndexIdle();

    expect(await hits(db, collectionId, 'VPN')).toEqual([chunkId]);
    expect(await hits(db, collectionId, '使用VPN连接')).toEqual([chunkId]);
    await expectConsistent(db, collectionId);
    const view = await getCollection(db, 'default', collectionId);
    expect(view?.keyword_index).toEqual({ analyzer_version: ANALYZER_VERSION, language: 'english', rebuilding: false });
  });

  test('a language change rebuilds the postings with the new language', async () => {
    service = await startService(db);
    const collectionId = await seedCollection(db, { version: ANALYZER_VERSION, language: 'english' });
    const chunkId = await addChunk(db, collectionId, 'The engineers were running the servers');
    await db.transaction((tx) => writePostings(tx, collectionId, [{ chunkId, text: 'The engineers were running the servers' }], { analyzer: 'english' }));
    // Switched to `simple` (as retrieval's PUT search-settings commits it): the postings are still stemmed
    // for English, so the unstemmed query finds nothing and a stop word is no term at all.
    await db.query(`UPDATE collections SET search_settings = '{"language":"simple"}' WHERE id = $1`, [collectionId]);
    expect(await hits(db, collectionId, 'running')).toEqual([]);
    expect((await getCollection(db, 'default', collectionId))?.keyword_index).toEqual({ analyzer_version: ANALYZER_VERSION, language: 'english', rebuilding: true });

    service.keywordIndexChanged(collectionId);
    await service.keywordIndexIdle();

    expect(await hits(db, collectionId, 'running')).toEqual([chunkId]);
    expect(await hits(db, collectionId, 'the')).toEqual([chunkId]);
    expect(await hits(db, collectionId, 'run')).toEqual([]);
    await expectConsistent(db, collectionId);
    expect((await getCollection(db, 'default', collectionId))?.keyword_index).toEqual({ analyzer_version: ANALYZER_VERSION, language: 'simple', rebuilding: false });
  });

  test('a rebuild stopped after its first batch keeps the collection searchable and consistent, and resumes', async () => {
    const collectionId = await seedCollection(db, { version: 1, language: 'english' });
    const chunkIds = [await addV1Chunk(db, collectionId), await addV1Chunk(db, collectionId), await addV1Chunk(db, collectionId)];
    let batches = 0;
    service = await startService(db, {
      batchChunks: 1,
      afterBatch: () => {
        batches++;
        throw new Error('crash after the first batch');
      },
    });
    await service.keywordIndexIdle();
    await service.stop();
    service = undefined;
    expect(batches).toBe(1);

    // One chunk rebuilt, two still v1: every chunk is found by the old query, the rebuilt one also by `VPN`.
    const tags = await db.query<{ analyzer: string | null }>(`SELECT analyzer FROM bm25_chunks WHERE collection_id = $1 ORDER BY analyzer NULLS LAST`, [collectionId]);
    expect(tags.rows.map((r) => r.analyzer)).toEqual([`english:${ANALYZER_VERSION}`, null, null]);
    expect(await hits(db, collectionId, '使用VPN连接')).toEqual([...chunkIds].sort());
    expect(await hits(db, collectionId, 'VPN')).toHaveLength(1);
    await expectConsistent(db, collectionId);
    expect((await getCollection(db, 'default', collectionId))?.keyword_index).toEqual({ analyzer_version: 1, language: 'english', rebuilding: true });

    // A process that died holding the lease: once it runs out, the next process takes the rebuild over.
    await db.transaction((tx) => claimKeywordIndexRebuild(tx, collectionId, 'dead-process', 1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    service = await startService(db, { batchChunks: 1 });
    await service.keywordIndexIdle();

    expect(await hits(db, collectionId, 'VPN')).toEqual([...chunkIds].sort());
    expect(await hits(db, collectionId, '使用VPN连接')).toEqual([...chunkIds].sort());
    await expectConsistent(db, collectionId);
    const after = await db.query<{ analyzer: string | null }>(`SELECT DISTINCT analyzer FROM bm25_chunks WHERE collection_id = $1`, [collectionId]);
    expect(after.rows).toEqual([{ analyzer: `english:${ANALYZER_VERSION}` }]);
    expect((await getCollection(db, 'default', collectionId))?.keyword_index).toEqual({ analyzer_version: ANALYZER_VERSION, language: 'english', rebuilding: false });
  });

  test("another process's unexpired lease is left alone", async () => {
    const collectionId = await seedCollection(db, { version: 1, language: 'english' });
    await addV1Chunk(db, collectionId);
    await db.transaction((tx) => claimKeywordIndexRebuild(tx, collectionId, 'other-replica', 60_000));
    service = await startService(db);
    await service.keywordIndexIdle();
    expect(await hits(db, collectionId, 'VPN')).toEqual([]);
    expect((await getCollection(db, 'default', collectionId))?.keyword_index.rebuilding).toBe(true);
  });
});
