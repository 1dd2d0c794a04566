import { openTestDatabase, type Db } from '@quire/db';
import { startVersionGraph } from '@quire/index-versions';
import { createCollection } from '../repo/collections-repo.js';
import { TEAM_A } from '../testing/http.js';
import { createBuildingVersion, deleteVersion } from '../versions/index-versions-repo.js';
import { dropOrphanGraphs, hnswIndexName } from './hnsw-index.js';

let db: Db;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

const graphs = async () => (await db.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE indexname LIKE 'chunk\\_vectors\\_hnsw\\_%' ORDER BY 1`)).rows.map((r) => r.indexname);

async function graphedVersion(collectionId: string): Promise<string> {
  const id = await createBuildingVersion(db, { collectionId, embeddingModel: 'openai/large', dimensions: null, chunking: { strategy: 'recursive', chunk_size: 1000, chunk_overlap: 150 }, activateOnReady: false, identity: TEAM_A });
  await db.query(`UPDATE index_versions SET dimensions = 3, hnsw_state = 'exact' WHERE id = $1`, [id]);
  expect(await db.transaction((tx) => startVersionGraph(tx, id))).toBe('started');
  return id;
}

test('deleting a version drops its graph after the delete commits; a graph whose version vanished without it is found and dropped at start', async () => {
  const coll = await createCollection(db, TEAM_A.team_id, { name: 'graphs', embedding_model: 'openai/small' }, { ...TEAM_A, requestId: null });
  const deleted = await graphedVersion(coll.id);
  const orphaned = await graphedVersion(coll.id);
  const kept = await graphedVersion(coll.id);
  expect(await graphs()).toEqual(expect.arrayContaining([hnswIndexName(deleted), hnswIndexName(orphaned), hnswIndexName(kept)]));

  expect(await deleteVersion(db, coll.id, deleted)).toBe('deleted');
  expect(await graphs()).not.toContain(hnswIndexName(deleted));

  // A process stopped between the delete's commit and the drop leaves the index of a version that is gone.
  await db.query(`DELETE FROM index_versions WHERE id = $1`, [orphaned]);
  expect(await graphs()).toContain(hnswIndexName(orphaned));
  expect(await dropOrphanGraphs(db)).toBe(1);
  expect(await graphs()).not.toContain(hnswIndexName(orphaned));
  expect(await graphs()).toContain(hnswIndexName(kept));
  expect(await dropOrphanGraphs(db)).toBe(0);
});
