/**
 * Races between recording, deleting and redacting stored queries that only a PostgreSQL server shows
 * (PGlite runs one transaction at a time): a query recorded while the delete of what it drew on is in
 * flight, and deletes that meet on the same rows (the lock order in @quire/stored-queries), which must wait for each other rather than deadlock.
 */
import { randomUUID } from 'node:crypto';
import type { Identity } from '@quire/contracts';
import { openPostgres, openTestDatabase, waitForLockWaiters, type Db, type PostgresTestDatabase } from '@quire/db';
import { lockCollectionForIndexWrite, lockCollectionForVersionChange } from '@quire/index-versions';
import { forgetCollectionQueries, redactQueriesOfDocuments } from '@quire/stored-queries';
import { createLogger } from '@quire/server-kit';
import { appendTurns, deleteConversation } from '../answer/conversation.js';
import { saveSearchSettings } from '../collections/collection-repository.js';
import { seedCollection, type SeededCollection } from '../testing/seed.js';
import { deleteQuery, insertQuery } from './query-repository.js';
import { createQueryRetention } from './query-retention.js';

const ASKER: Identity = { team_id: 'team-a', key_id: 'key-a', role: 'member', groups: [] };

let db: PostgresTestDatabase;
/** One connection, so BEGIN ... COMMIT sent as separate statements is one transaction held open between them. */
let gate: Db;

beforeEach(async () => {
  db = (await openTestDatabase()) as PostgresTestDatabase;
  gate = openPostgres(db.connectionString, { max: 1 });
});
afterEach(async () => {
  await gate?.close();
  await db?.close();
});

const seed = () =>
  seedCollection(db, {
    teamId: 'team-a',
    name: `races-${randomUUID()}`,
    embeddingModel: null,
    generationModel: null,
    documents: [
      { title: 'Pay', chunks: [{ text: 'The night shift bonus is 417 euros per month.' }] },
      { title: 'Canteen', chunks: [{ text: 'The canteen opens at noon.' }] },
    ],
  });

const record = (colls: SeededCollection[], id = randomUUID(), conversationId: string | null = null) =>
  insertQuery(db, {
    id,
    identity: ASKER,
    collectionId: colls[0]!.collectionId,
    collectionIds: colls.map((c) => c.collectionId),
    conversationId,
    kind: 'answer',
    query: 'q',
    mode: 'keyword',
    status: 'ok',
    answer: 'The night shift bonus is 417 euros [1].',
    results: colls.flatMap((c, i) => c.documentIds.map((d, j) => ({ rank: i * 2 + j + 1, chunkId: c.chunkIds[j]![0]!, documentId: d, score: 1, scores: {} }) as never)),
    citations: [{ index: 1, document_id: colls[0]!.documentIds[0], quote: 'The night shift bonus is 417 euros per month.' }],
    timings: {},
    models: {},
  });

test("a query recorded while its document's delete is in flight waits for it and is stored redacted", async () => {
  const coll = await seed();
  await gate.query('BEGIN');
  await gate.query(`DELETE FROM documents WHERE id = $1`, [coll.documentIds[0]]);
  await redactQueriesOfDocuments(gate, [coll.documentIds[0]!]);
  const id = randomUUID();
  const recording = record([coll], id);
  await waitForLockWaiters(gate, 1, 'transactionid');
  await gate.query('COMMIT');
  expect(await recording).toBe('redacted');
  const row = (await db.query<{ answer: string | null }>(`SELECT answer FROM queries WHERE id = $1`, [id])).rows[0];
  expect(row).toEqual({ answer: null });
});

test("a query recorded while its collection's delete is in flight waits for it and is not stored", async () => {
  const coll = await seed();
  await gate.query('BEGIN');
  await gate.query(`SELECT 1 FROM collections WHERE id = $1 FOR UPDATE`, [coll.collectionId]);
  const id = randomUUID();
  const recording = record([coll], id);
  await waitForLockWaiters(gate, 1, 'transactionid');
  await gate.query(`DELETE FROM collections WHERE id = $1`, [coll.collectionId]);
  await forgetCollectionQueries(gate, coll.collectionId);
  await gate.query('COMMIT');
  expect(await recording).toBe('dropped');
  expect((await db.query(`SELECT 1 FROM queries WHERE id = $1`, [id])).rows).toEqual([]);
});

describe("a follow-up whose rewrite saw a query's turns, recorded while that query's document is deleted", () => {
  /** The query the conversation started with (drew on the pay document), and its conversation. */
  const start = async (coll: SeededCollection) => {
    const id = randomUUID();
    const conversationId = randomUUID();
    await insertQuery(db, {
      id,
      identity: ASKER,
      collectionId: coll.collectionId,
      conversationId,
      kind: 'answer',
      query: 'What is the night shift bonus?',
      mode: 'keyword',
      status: 'ok',
      answer: 'The night shift bonus is 417 euros [1].',
      results: [{ rank: 1, chunkId: coll.chunkIds[0]![0]!, documentId: coll.documentIds[0]!, score: 1, scores: {} } as never],
      citations: [],
      timings: {},
      models: {},
    });
    return { id, conversationId };
  };
  /** The follow-up, on the canteen document only: the pay document's words reach it through the rewrite. */
  const followUp = (coll: SeededCollection, first: { id: string; conversationId: string }, id = randomUUID()) =>
    insertQuery(db, {
      id,
      identity: ASKER,
      collectionId: coll.collectionId,
      conversationId: first.conversationId,
      rewrittenQuery: 'canteen hours compared with the 417 euros bonus',
      rewrittenFrom: [first.id],
      kind: 'answer',
      query: 'and the canteen?',
      mode: 'keyword',
      status: 'ok',
      answer: 'The canteen opens at noon [1].',
      results: [{ rank: 1, chunkId: coll.chunkIds[1]![0]!, documentId: coll.documentIds[1]!, score: 1, scores: {} } as never],
      citations: [],
      timings: {},
      models: {},
    });
  const stored = async (id: string) => (await db.query(`SELECT answer, rewritten_query, redacted_at IS NOT NULL AS redacted FROM queries WHERE id = $1`, [id])).rows[0];

  test('recorded first (it holds the query row): the delete waits for it, then finds and redacts it', async () => {
    const coll = await seed();
    const first = await start(coll);
    // What insertQuery holds until it commits: the key-share lock on the query its rewrite drew on, and the new row.
    const later = randomUUID();
    await gate.query('BEGIN');
    await gate.query(`SELECT 1 FROM queries WHERE id = $1 FOR KEY SHARE`, [first.id]);
    await gate.query(
      `INSERT INTO queries (id, team_id, key_id, collection_id, collection_ids, kind, query, status, answer, rewritten_query, conversation_id, document_ids)
       VALUES ($1, 'team-a', 'key-a', $2, ARRAY[$2::uuid], 'answer', 'and the canteen?', 'ok', 'The canteen opens at noon [1].', 'canteen hours compared with the 417 euros bonus', $3, ARRAY[$4::uuid])`,
      [later, coll.collectionId, first.conversationId, coll.documentIds[1]],
    );
    const deleting = db.transaction(async (tx) => {
      await tx.query(`DELETE FROM documents WHERE id = $1`, [coll.documentIds[0]]);
      return redactQueriesOfDocuments(tx, [coll.documentIds[0]!]);
    });
    await waitForLockWaiters(gate, 1, 'transactionid');
    await gate.query('COMMIT');
    expect(await deleting).toBe(2);
    expect(await stored(later)).toEqual({ answer: null, rewritten_query: null, redacted: true });
  });

  test('recorded while the delete is in flight: it waits for the delete and is stored redacted', async () => {
    const coll = await seed();
    const first = await start(coll);
    await gate.query('BEGIN');
    await gate.query(`DELETE FROM documents WHERE id = $1`, [coll.documentIds[0]]);
    await redactQueriesOfDocuments(gate, [coll.documentIds[0]!]);
    const later = randomUUID();
    const recording = followUp(coll, first, later);
    await waitForLockWaiters(gate, 1, 'transactionid');
    await gate.query('COMMIT');
    expect(await recording).toBe('redacted');
    expect(await stored(later)).toEqual({ answer: null, rewritten_query: null, redacted: true });
  });
});

/**
 * Whether `work` settles before any other backend waits on a lock: 'waited' as soon as one does (it
 * would wait for the gate's transaction, which the caller holds open), else what `work` gave.
 */
async function settlesWithoutWaiting<T>(work: Promise<T>): Promise<T | 'waited'> {
  let settled = false;
  const done = work.finally(() => (settled = true));
  while (!settled) {
    const r = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`,
    );
    if (r.rows[0]!.n > 0) return 'waited';
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return done;
}

const search = (colls: SeededCollection[], id: string) =>
  insertQuery(db, {
    id,
    identity: ASKER,
    collectionId: colls[0]!.collectionId,
    collectionIds: colls.map((c) => c.collectionId),
    kind: 'search',
    query: 'night shift bonus',
    mode: 'keyword',
    status: 'ok',
    results: colls.flatMap((c) => c.documentIds.map((d, j) => ({ rank: j + 1, chunkId: c.chunkIds[j]![0]!, documentId: d, score: 1, scores: {} }) as never)),
    timings: {},
    models: {},
  });

test("a search recorded while a collection it searched is being deleted waits for the delete and is not stored (its question and ids would outlive the collection)", async () => {
  const [kept, gone] = [await seed(), await seed()];
  // What ingestion's deleteCollection holds until it commits: the row FOR UPDATE, and the collection's
  // queries already collected and deleted (a search read the collection before all this).
  await gate.query('BEGIN');
  await gate.query(`SELECT 1 FROM collections WHERE id = $1 FOR UPDATE`, [gone!.collectionId]);
  await gate.query(`DELETE FROM collections WHERE id = $1`, [gone!.collectionId]);
  await forgetCollectionQueries(gate, gone!.collectionId);
  const id = randomUUID();
  // A search of both, the deleted one second: a foreign key on `collection_id` would see only the first.
  const recording = search([kept!, gone!], id);
  // Without the wait it would be recorded now, after the delete collected the collection's queries.
  expect(await settlesWithoutWaiting(recording)).toBe('waited');
  await gate.query('COMMIT');
  expect(await recording).toBe('dropped');
  expect((await db.query(`SELECT 1 FROM queries WHERE id = $1`, [id])).rows).toEqual([]);
});

test("a search is recorded while its documents' rows are held by a writer (a replacement's swap) and its collection's by a settings change or an activation: it waits for neither", async () => {
  const coll = await seed();
  await gate.query('BEGIN');
  await gate.query(`SELECT 1 FROM collections WHERE id = $1 FOR NO KEY UPDATE`, [coll.collectionId]);
  await gate.query(`SELECT 1 FROM documents WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [coll.documentIds]);
  const id = randomUUID();
  const outcome = await settlesWithoutWaiting(search([coll], id));
  await gate.query('COMMIT');
  expect(outcome).toBe('recorded');
  expect((await db.query(`SELECT kind, document_ids, redacted_at FROM queries WHERE id = $1`, [id])).rows).toEqual([
    { kind: 'search', document_ids: expect.arrayContaining(coll.documentIds), redacted_at: null },
  ]);
});

test("saving a collection's search settings does not hold off the key-share locks of uploads and answers (FOR NO KEY UPDATE)", async () => {
  const coll = await seed();
  // An upload's foreign-key check (or an answer being recorded) in flight on the collection's row.
  await gate.query('BEGIN');
  await gate.query(`SELECT 1 FROM collections WHERE id = $1 FOR KEY SHARE`, [coll.collectionId]);
  const saving = saveSearchSettings(db, 'team-a', coll.collectionId, { language: 'simple' }, undefined, { team_id: 'team-a', key_id: 'key-a', requestId: null });
  const outcome = await settlesWithoutWaiting(saving);
  await gate.query('COMMIT');
  // Saved without waiting; it reports the language change (which rebuilds the keyword index).
  expect(outcome).toEqual({ collectionId: coll.collectionId, languageChanged: true });
  expect((await db.query(`SELECT search_settings->>'language' AS language FROM collections WHERE id = $1`, [coll.collectionId])).rows).toEqual([{ language: 'simple' }]);
});

test('a query recorded just before a document delete commits is redacted by it: the delete waits for the record', async () => {
  const coll = await seed();
  // The record holds its key-share locks until it commits; the delete waits, then finds the new row.
  await gate.query('BEGIN');
  await gate.query(`SELECT 1 FROM documents WHERE id = $1 FOR KEY SHARE`, [coll.documentIds[0]]);
  const deleting = db.transaction(async (tx) => {
    await tx.query(`DELETE FROM documents WHERE id = $1`, [coll.documentIds[0]]);
    return redactQueriesOfDocuments(tx, [coll.documentIds[0]!]);
  });
  await waitForLockWaiters(gate, 1, 'transactionid');
  const id = randomUUID();
  // What insertQuery's transaction writes, in the gate's transaction (which the delete waits for).
  await gate.query(
    `INSERT INTO queries (id, team_id, key_id, collection_id, collection_ids, kind, query, status, answer, document_ids) VALUES ($1, 'team-a', 'key-a', $2, ARRAY[$2::uuid], 'answer', 'q', 'ok', '417 euros', ARRAY[$3::uuid])`,
    [id, coll.collectionId, coll.documentIds[0]],
  );
  await gate.query('COMMIT');
  expect(await deleting).toBe(1);
  expect((await db.query(`SELECT answer FROM queries WHERE id = $1`, [id])).rows).toEqual([{ answer: null }]);
});

test('document deletes, collection deletes, query and conversation deletes and the retention sweep on shared rows never deadlock', async () => {
  const retention = createQueryRetention({ db, logger: createLogger({}, 'error'), days: 1, batchSize: 3 });
  for (let round = 0; round < 8; round++) {
    const [a, b] = await Promise.all([seed(), seed()]);
    const conversation = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const id = randomUUID();
      ids.push(id);
      // Multi-collection queries in one conversation: every operation below touches some of them.
      await record(i % 2 === 0 ? [a!, b!] : [b!, a!], id, conversation);
      await appendTurns(db, ASKER, conversation, [a!.collectionId], id, `q${i}`, `a${i}`);
    }
    await db.query(`UPDATE queries SET created_at = now() - interval '2 days' WHERE id = ANY($1::uuid[]) AND random() < 0.5`, [ids]);
    // A search of both, recorded as the collection goes: stored before the delete (which takes it), or not at all.
    const searched = randomUUID();
    // Document and collection deletes take ingestion's collection locks first, as they do there.
    const deleteDocument = (coll: SeededCollection, index: number) =>
      db.transaction(async (tx) => {
        await lockCollectionForIndexWrite(tx, coll.collectionId);
        await tx.query(`DELETE FROM documents WHERE id = $1`, [coll.documentIds[index]]);
        await redactQueriesOfDocuments(tx, [coll.documentIds[index]!]);
      });
    const results = await Promise.allSettled([
      deleteDocument(b!, 0),
      db.transaction(async (tx) => {
        await lockCollectionForVersionChange(tx, a!.collectionId);
        await tx.query(`DELETE FROM collections WHERE id = $1`, [a!.collectionId]);
        await forgetCollectionQueries(tx, a!.collectionId);
      }),
      deleteDocument(a!, 1),
      deleteConversation(db, ASKER, conversation),
      deleteQuery(db, ASKER, ids[3]!),
      retention.sweep(),
      search([b!, a!], searched),
    ]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason));
    expect(failed).toEqual([]);
    expect((await db.query(`SELECT 1 FROM queries WHERE id = ANY($1::uuid[])`, [[...ids, searched]])).rows).toEqual([]);
  }
  await retention.stop();
}, 60_000);
