import type { Db } from '@quire/db';
import { openTestDatabase } from '@quire/db';
import { SearchResultSchema } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { loadCollection } from '../collections/collection-repository.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { DIMENSIONS, seedCollection } from '../testing/seed.js';
import { createBm25KeywordRetriever } from './bm25-retriever.js';
import { runSearch, toSearchResult, type SearchDeps } from './search-pipeline.js';

/**
 * A chunk cut from the middle of a table carries the table's header as `context` (ingestion's
 * chunker, migration 0018): search returns it beside the text, which stays the document's own span.
 */
let db: Db;
let deps: SearchDeps;
const call = { identityToken: signIdentity({ team_id: 'team-a', key_id: 'k', role: 'member', groups: [] }, 'test-secret-for-retrieval-0123456789'), traceId: 't' };
const HEADER = '| Port | High tide | Low tide |\n| --- | --- | --- |';
const ROWS = '| Zephyr | 17:00 | 23:00 |\n| Calder | 18:10 | 00:10 |';

beforeAll(async () => {
  db = await openTestDatabase();
  deps = { db, models: createFakeGatewayModels(db, DIMENSIONS), keyword: createBm25KeywordRetriever(db) };
});
afterAll(async () => {
  await db?.close();
});

test('search results carry a chunk\'s context apart from its text; chunks without one have no context field', async () => {
  const seeded = await seedCollection(db, {
    teamId: 'team-a',
    name: 'tides',
    embeddingModel: null,
    generationModel: null,
    documents: [{ title: 'Tide table', chunks: [{ text: `Tides by port.\n\n${HEADER}\n| Harbour | 16:00 | 22:00 |` }, { text: ROWS }] }],
  });
  await db.query(`UPDATE chunks SET context = $2 WHERE id = $1`, [seeded.chunkIds[0]![1], HEADER]);
  const collection = (await loadCollection(db, 'team-a', seeded.collectionId))!;
  const outcome = await runSearch(deps, { collection, query: 'Zephyr Calder Harbour', topK: 5, mode: 'keyword', filters: { accessGroups: [] }, call });
  const byId = new Map(outcome.results.map((r) => [r.chunkId, r]));
  const rows = byId.get(seeded.chunkIds[0]![1]!)!;
  expect(rows).toMatchObject({ text: ROWS, context: HEADER });
  const plain = byId.get(seeded.chunkIds[0]![0]!)!;
  expect(plain).not.toHaveProperty('context');

  const results = outcome.results.map(toSearchResult);
  const body = results.map((r) => SearchResultSchema.parse(r));
  expect(body.find((r) => r.chunk_id === rows.chunkId)).toMatchObject({ text: ROWS, context: HEADER, char_end: rows.charStart + ROWS.length });
  expect(body.find((r) => r.chunk_id === plain.chunkId)).not.toHaveProperty('context');
});
