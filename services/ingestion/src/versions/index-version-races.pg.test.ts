/**
 * Races between index-version changes and indexing transactions that only a PostgreSQL server shows
 * (PGlite runs one transaction at a time). Each test holds one transaction at a chosen point with an
 * advisory lock it takes itself (a gate standing in for the time the real statement takes), runs the
 * other operation on another pool connection, then lets the first go on.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Db } from '@quire/db';
import { openTestDatabase, waitForLockWaiters, type PostgresTestDatabase } from '@quire/db';
import { activateIndexVersion, lockCollectionForIndexWrite, startVersionGraph } from '@quire/index-versions';
import type { ChunkDraft } from '../chunk/chunk-text.js';
import { hnswIndexName } from '../index/hnsw-index.js';
import { indexChunks } from '../index/index-chunks.js';
import { createCollection, deleteCollection } from '../repo/collections-repo.js';
import { insertDocument } from '../repo/documents-repo.js';
import { TEAM_A } from '../testing/http.js';
import { activateVersion, createBuildingVersion, deleteVersion } from './index-versions-repo.js';
import { acquireBuildLease, lockBuildRound } from './build-lease.js';
import { rechunkRound } from './rechunk-round.js';
import { prepareVersionWrite } from '../index/index-chunks.js';
import type { ParsePool } from '../parse/parse-pool.js';

/** Who switches: an admin's direct activation (recorded as a forced promotion). */
const BY_ADMIN = { actor: { team_id: 'team-a', key_id: 'key-a' }, requestId: null, trigger: 'activate' as const };

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const chunk = (s: string): ChunkDraft => ({ ordinal: 0, text: s, contentSha256: sha(s), charStart: 0, charEnd: s.length, pageStart: null, pageEnd: null, headingPath: [] });
const vec = (x: number) => [x, 1 - x, 0.5];

let db: PostgresTestDatabase;
let gate: pg.Client;

beforeEach(async () => {
  db = (await openTestDatabase()) as PostgresTestDatabase;
  gate = new pg.Client({ connectionString: db.connectionString });
  await gate.connect();
});
afterEach(async () => {
  await gate.end();
  await db.close();
});

/** Holds the lock `prepareVersionWrite` takes first for `versionId`, so an indexing transaction stops there. */
async function closeGate(versionId: string): Promise<void> {
  await gate.query('SELECT pg_advisory_lock(hashtext($1))', [versionId]);
}
async function openGate(versionId: string): Promise<void> {
  await gate.query('SELECT pg_advisory_unlock(hashtext($1))', [versionId]);
}

async function processingDocument(db: Db, collectionId: string, topic: string): Promise<string> {
  const view = await db.transaction((tx) =>
    insertDocument(tx, { collectionId, title: topic, filename: `${topic}.txt`, mime: 'text/plain', bytes: new TextEncoder().encode(topic), sha256: sha(topic), metadata: {}, identity: TEAM_A, traceId: `t-${topic}` }),
  );
  await db.query(`UPDATE documents SET status = 'processing', stage = 'indexing' WHERE id = $1`, [view.id]);
  return view.id;
}

/** An indexing job's transaction for one processing document: one chunk, its vector in `v1` and, when given, in the building `v2`. */
function indexOne(documentId: string, collectionId: string, v1: string, v2?: string, x = 0.3) {
  return indexChunks(db, {
    documentId, collectionId, version: 1, chunks: [chunk(documentId)],
    vectors: { indexVersionId: v1, dimensions: 3, values: [vec(x)] },
    ...(v2 ? { buildingVectors: [{ indexVersionId: v2, dimensions: 3, values: [vec(x + 0.1)] }] } : {}),
  });
}

/** Settles both, returning the error codes of those that failed. */
async function errorCodes(...ps: Promise<unknown>[]): Promise<(string | undefined)[]> {
  const results = await Promise.allSettled(ps);
  return results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as { code?: string }).code);
}

async function collectionWithTwoVersions(): Promise<{ collectionId: string; v1: string; v2: string }> {
  const coll = await createCollection(db, TEAM_A.team_id, { name: `c-${Date.now()}`, embedding_model: 'openai/small' }, { ...TEAM_A, requestId: null });
  const v1 = (await db.query<{ current_index_version_id: string }>(`SELECT current_index_version_id FROM collections WHERE id = $1`, [coll.id])).rows[0]!.current_index_version_id;
  const v2 = await createBuildingVersion(db, { collectionId: coll.id, embeddingModel: 'openai/large', dimensions: null, chunking: { strategy: 'recursive', chunk_size: 1000, chunk_overlap: 150 }, activateOnReady: false, identity: TEAM_A });
  return { collectionId: coll.id, v1, v2 };
}

test('activation does not switch to a version while a committed-later document lacks a vector in it', async () => {
  const { collectionId, v1, v2 } = await collectionWithTwoVersions();
  // One document indexed before the build, with vectors in both versions: the new version is complete, and ready.
  const early = await processingDocument(db, collectionId, 'early');
  expect(await indexOne(early, collectionId, v1, v2, 0.1)).toBe('indexed');
  await db.query(`UPDATE index_versions SET status = 'ready' WHERE id = $1`, [v2]);

  // A job that read the version list before the build began indexes a second document, V1 vectors only.
  // Its transaction has written the chunks and postings and is about to write vectors (the gate).
  const late = await processingDocument(db, collectionId, 'late');
  await closeGate(v1);
  const indexing = indexOne(late, collectionId, v1);
  await waitForLockWaiters(gate, 1, 'advisory');

  // Meanwhile an activation of V2 starts: it waits for the job (the collection lock), so its count of
  // chunks missing a V2 vector sees the job's chunk.
  const activating = activateVersion(db, collectionId, v2, BY_ADMIN);
  await waitForLockWaiters(gate, 2);
  await openGate(v1);
  expect(await indexing).toBe('indexed');
  const outcome = await activating;
  expect(outcome).toBe('incomplete');

  const current = await db.query<{ current_index_version_id: string }>(`SELECT current_index_version_id FROM collections WHERE id = $1`, [collectionId]);
  const missing = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM chunks ch WHERE ch.collection_id = $1 AND ch.index_version_id IS NULL
        AND NOT EXISTS (SELECT 1 FROM chunk_vectors cv WHERE cv.chunk_id = ch.id AND cv.index_version_id = $2)`,
    [collectionId, v2],
  );
  // Invariant: a collection never serves a version that lacks vectors for active chunks (activation says
  // 'incomplete' in that case). Here it is 'activated' and the late document is invisible to vector search.
  expect({ outcome, current: current.rows[0]!.current_index_version_id === v2, missing: missing.rows[0]!.n }).not.toEqual({ outcome: 'activated', current: true, missing: 1 });
});

test('starting a building version\'s graph does not deadlock with an indexing job that feeds that version', async () => {
  const { collectionId, v1, v2 } = await collectionWithTwoVersions();
  // V2 has its dimension fixed and is `exact`, as the graph maintainer finds it once it has enough vectors.
  await db.query(`UPDATE index_versions SET dimensions = 3 WHERE id = $1`, [v2]);
  const doc = await processingDocument(db, collectionId, 'doc');

  // The job has written its V1 vectors (a RowExclusiveLock on chunk_vectors) and is about to write V2's.
  await closeGate(v2);
  const indexing = indexOne(doc, collectionId, v1, v2);
  await waitForLockWaiters(gate, 1, 'advisory');
  // The graph maintainer (which used to lock V2's row, then wait in CREATE INDEX for the job's lock on
  // chunk_vectors while the job waited for that row: a cycle) now waits for the job first.
  const graph = db.transaction((tx) => startVersionGraph(tx, v2));
  await waitForLockWaiters(gate, 2);
  await openGate(v2);
  expect(await errorCodes(indexing, graph)).toEqual([]);
  expect(await graph).toBe('started');
});

test('deleting a graphed building version does not deadlock with an indexing job that feeds that version', async () => {
  const { collectionId, v1, v2 } = await collectionWithTwoVersions();
  await db.query(`UPDATE index_versions SET dimensions = 3, hnsw_state = 'exact' WHERE id = $1`, [v2]);
  expect(await db.transaction((tx) => startVersionGraph(tx, v2))).toBe('started');
  const doc = await processingDocument(db, collectionId, 'doc');

  await closeGate(v2);
  const indexing = indexOne(doc, collectionId, v1, v2);
  await waitForLockWaiters(gate, 1, 'advisory');
  // The delete (which used to delete V2's row, then wait in DROP INDEX for the job's lock on chunk_vectors
  // while the job waited for that row) now waits for the job first, and drops the graph after its commit.
  const deleting = deleteVersion(db, collectionId, v2);
  await waitForLockWaiters(gate, 2);
  await openGate(v2);
  expect(await errorCodes(indexing, deleting)).toEqual([]);
  expect(await deleting).toBe('deleted');
  const graphs = await db.query(`SELECT 1 FROM pg_indexes WHERE indexname = $1`, [hnswIndexName(v2)]);
  expect(graphs.rows).toEqual([]);
});

test('activating a built version does not deadlock with an indexing job that writes vectors into it', async () => {
  const { collectionId, v1, v2 } = await collectionWithTwoVersions();
  await db.query(`UPDATE index_versions SET status = 'ready', dimensions = 3 WHERE id = $1`, [v2]);
  const doc = await processingDocument(db, collectionId, 'doc');
  // The job has locked V1's row (prepareVersionWrite's UPDATE) and is about to lock V2's.
  await closeGate(v2);
  const indexing = indexOne(doc, collectionId, v1, v2);
  await waitForLockWaiters(gate, 1, 'advisory');
  // Activation (the builder's activate-on-ready, or POST .../activate) used to lock V2's row, then wait
  // to retire V1 behind the job, which waited for V2's row. It now waits for the job's collection lock first.
  const activating = activateVersion(db, collectionId, v2, BY_ADMIN);
  await waitForLockWaiters(gate, 2);
  await openGate(v2);
  expect(await errorCodes(indexing, activating)).toEqual([]);
});

test('a builder\'s write round does not deadlock with an indexing job (both: collection, version lock, then row)', async () => {
  const { collectionId, v1, v2 } = await collectionWithTwoVersions();
  await db.query(`UPDATE index_versions SET dimensions = 3 WHERE id = $1`, [v2]);
  expect(await acquireBuildLease(db, v2, 'builder-1', 60_000)).not.toBeNull();
  const doc = await processingDocument(db, collectionId, 'doc');
  // The builder's round transaction as index-version-builder.ts writes it: lockBuildRound (which used to
  // check the lease row first, then take the version lock the job holds while it waits for that row).
  let goOn!: () => void;
  const paused = new Promise<void>((r) => (goOn = r));
  let locked!: () => void;
  const holding = new Promise<void>((r) => (locked = r));
  const round = db.transaction(async (tx) => {
    await lockBuildRound(tx, collectionId, v2, 'builder-1');
    locked();
    await paused; // one round trip in the real code
    await prepareVersionWrite(tx, v2, 3);
  });
  await holding;
  const indexing = indexOne(doc, collectionId, v1, v2);
  // The job waits for the version lock the round holds; the round, once it goes on, waits for nothing the job holds.
  await waitForLockWaiters(gate, 1, 'advisory');
  goOn();
  expect(await errorCodes(indexing, round)).toEqual([]);
});

test('a re-chunking build round does not deadlock with an indexing job that feeds the same version', async () => {
  const { collectionId, v1, v2 } = await collectionWithTwoVersions();
  await db.query(`UPDATE index_versions SET dimensions = 3, chunking = '{"strategy":"recursive","chunk_size":300,"chunk_overlap":0}'::jsonb WHERE id = $1`, [v2]);
  expect(await acquireBuildLease(db, v2, 'builder-1', 60_000)).not.toBeNull();
  // A ready document to re-chunk, and a processing one an upload job is indexing.
  const old = await processingDocument(db, collectionId, 'old');
  expect(await indexOne(old, collectionId, v1, undefined, 0.1)).toBe('indexed');
  const doc = await processingDocument(db, collectionId, 'doc');

  const parsePool = { parseAndChunk: async () => ({ chunks: [chunk('old, re-chunked')] }) } as unknown as ParsePool;
  const held = new pg.Client({ connectionString: db.connectionString });
  await held.connect();
  try {
    const round = rechunkRound(
      { db, parsePool, maxChunks: 100 },
      {
        collectionId, versionId: v2, holder: 'builder-1', chunking: { strategy: 'recursive', chunk_size: 300, chunk_overlap: 0 }, documents: 1,
        // While the round embeds, a row its DELETE will meet is locked elsewhere: this stretches the
        // time between its lock on V2's row and prepareVersionWrite's version lock (DELETE + INSERT of chunks).
        embed: async () => {
          await db.query(`INSERT INTO chunks (document_id, collection_id, index_version_id, ordinal, text, content_sha256, char_start, char_end) VALUES ($1, $2, $3, 99, 'x', 'x', 0, 1)`, [old, collectionId, v2]);
          await held.query('BEGIN');
          await held.query(`SELECT 1 FROM chunks WHERE document_id = $1 AND index_version_id = $2 FOR UPDATE`, [old, v2]);
          return { vectors: [vec(0.5)], dimensions: 3 };
        },
      },
    );
    await waitForLockWaiters(gate, 1, 'transactionid'); // the round: V2 row locked, its DELETE waits
    const indexing = indexOne(doc, collectionId, v1, v2);
    // The job waits for V2's version lock, which the round holds (it used to take it after V2's row,
    // while the job held the version lock and waited for the row).
    await waitForLockWaiters(gate, 2);
    await held.query('COMMIT');
    expect(await errorCodes(indexing, round)).toEqual([]);
  } finally {
    await held.end();
  }
});

test('a version change waiting for the writers in flight is not starved by writers that come after it', async () => {
  const { collectionId, v2 } = await collectionWithTwoVersions();
  await db.query(`UPDATE index_versions SET status = 'ready', dimensions = 3 WHERE id = $1`, [v2]);
  const order: string[] = [];
  let endFirst!: () => void;
  const firstHeld = new Promise<void>((r) => (endFirst = r));
  let firstIn!: () => void;
  const firstLocked = new Promise<void>((r) => (firstIn = r));
  // A writer holds the collection's shared lock.
  const first = db.transaction(async (tx) => {
    await lockCollectionForIndexWrite(tx, collectionId);
    firstIn();
    await firstHeld;
    order.push('first writer');
  });
  await firstLocked;
  // Recorded inside the activation's transaction, before its commit lets the second writer in.
  const activating = db.transaction(async (tx) => order.push(`activation: ${await activateIndexVersion(tx, collectionId, v2)}`));
  await waitForLockWaiters(gate, 1);
  // A writer that arrives while the activation waits queues behind it (a row share lock would have been granted at once).
  const second = db.transaction(async (tx) => {
    await lockCollectionForIndexWrite(tx, collectionId);
    order.push('second writer');
  });
  await waitForLockWaiters(gate, 2);
  endFirst();
  await Promise.all([first, activating, second]);
  expect(order).toEqual(['first writer', 'activation: activated', 'second writer']);
});

test('a collection deleted by its id in upper case still waits for the writers in flight', async () => {
  const { collectionId } = await collectionWithTwoVersions();
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const holding = new Promise<void>((r) => (locked = r));
  const writer = db.transaction(async (tx) => {
    await lockCollectionForIndexWrite(tx, collectionId);
    locked();
    await held;
  });
  await holding;
  const deleting = deleteCollection(db, TEAM_A.team_id, collectionId.toUpperCase(), { ...TEAM_A, requestId: null });
  await waitForLockWaiters(gate, 1, 'advisory');
  release();
  await writer;
  expect(await deleting).toBe(true);
});
