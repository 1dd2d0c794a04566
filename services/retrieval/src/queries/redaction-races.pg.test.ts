/**
 * Redactions that meet in one conversation, on a PostgreSQL server (PGlite runs one transaction at a
 * time): a redaction that finds a follow-up only after its lock wait (the follow-up committed
 * meanwhile) must not lock it while holding rows another redaction waits for
 * (@quire/stored-queries `redactQueriesOfDocuments`).
 */
import { randomUUID } from 'node:crypto';
import { openPostgres, openTestDatabase, waitForLockWaiters, type Db, type PostgresTestDatabase } from '@quire/db';
import { redactQueriesOfDocuments } from '@quire/stored-queries';
import { seedCollection } from '../testing/seed.js';

let db: PostgresTestDatabase;
/** Single connections, so BEGIN ... COMMIT sent as separate statements is one transaction held open between them. */
let recorder: Db;
let holder: Db;

beforeEach(async () => {
  db = (await openTestDatabase()) as PostgresTestDatabase;
  recorder = openPostgres(db.connectionString, { max: 1 });
  holder = openPostgres(db.connectionString, { max: 1 });
});
afterEach(async () => {
  await recorder?.close();
  await holder?.close();
  await db?.close();
});

/** Ids in a known order: rows are locked in id order. */
const B = '05000000-0000-4000-8000-000000000000';
const F = '10000000-0000-4000-8000-000000000000';
const A = '20000000-0000-4000-8000-000000000000';
const Z = '30000000-0000-4000-8000-000000000000';

const insertRow = (q: Db, row: { id: string; collectionId: string; documentId: string; conversationId: string | null; rewritten: string | null; ago: string }) =>
  q.query(
    `INSERT INTO queries (id, team_id, key_id, collection_id, collection_ids, kind, query, status, answer, rewritten_query, conversation_id, document_ids, created_at)
     VALUES ($1, 'team-a', 'key-a', $2, ARRAY[$2::uuid], 'answer', 'q', 'ok', 'The night shift bonus is 417 euros.', $3, $4, ARRAY[$5::uuid], now() - $6::interval)`,
    [row.id, row.collectionId, row.rewritten, row.conversationId, row.documentId, row.ago],
  );

const pidOf = async (q: Db) => (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

/** Waits until some backend waits on a lock that `pid` holds. */
async function waitBlockedBy(pid: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]);
    if (r.rows[0]!.n > 0) return;
    if (Date.now() > deadline) throw new Error(`no backend waited on pid ${pid} within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('two document deletes redacting one conversation, one finding a follow-up late, both commit without a deadlock', async () => {
  // Two collections: deletes in one collection queue on its chunk-set row (migration 0023) before they redact.
  const seed = (title: string, text: string) =>
    seedCollection(db, { teamId: 'team-a', name: `redaction-${randomUUID()}`, embeddingModel: null, generationModel: null, documents: [{ title, chunks: [{ text }] }] });
  const [payroll, facilities] = [await seed('Pay', 'The night shift bonus is 417 euros per month.'), await seed('Canteen', 'The canteen opens at noon.')];
  const pay = payroll.documentIds[0]!;
  const canteen = facilities.documentIds[0]!;
  const conversationId = randomUUID();
  // The conversation, over both collections: B on the canteen, then follow-up A on pay; Z asked about pay outside it.
  await insertRow(db, { id: B, collectionId: facilities.collectionId, documentId: canteen, conversationId, rewritten: null, ago: '3 minutes' });
  await insertRow(db, { id: A, collectionId: payroll.collectionId, documentId: pay, conversationId, rewritten: 'night shift bonus', ago: '2 minutes' });
  await insertRow(db, { id: Z, collectionId: payroll.collectionId, documentId: pay, conversationId: null, rewritten: null, ago: '1 minute' });
  // Follow-up F being recorded (insertQuery): key-share locks A, whose turns its rewrite saw, and inserts F.
  await recorder.query('BEGIN');
  await recorder.query(`SELECT 1 FROM queries WHERE id = $1 FOR KEY SHARE`, [A]);
  await insertRow(recorder, { id: F, collectionId: facilities.collectionId, documentId: canteen, conversationId, rewritten: 'canteen after the night shift', ago: '0 minutes' });
  // Another answer being recorded that rewrote from Z: key-share locks Z.
  await holder.query('BEGIN');
  await holder.query(`SELECT 1 FROM queries WHERE id = $1 FOR KEY SHARE`, [Z]);

  const deleteAndRedact = (documentId: string) =>
    db.transaction(async (tx) => {
      await tx.query(`DELETE FROM documents WHERE id = $1`, [documentId]);
      return redactQueriesOfDocuments(tx, [documentId]);
    });
  // Deleting pay locks A, then waits for Z; its look at A's follow-ups predates F.
  const deletingPay = deleteAndRedact(pay);
  await waitBlockedBy(await pidOf(recorder));
  await recorder.query('COMMIT');
  await waitBlockedBy(await pidOf(holder));
  // Deleting the canteen sees F: it locks B and F, then waits for A.
  const deletingCanteen = deleteAndRedact(canteen);
  await waitForLockWaiters(holder, 2, 'transactionid');
  // Pay's delete takes Z and finds F late: locking F now, holding A, would deadlock with the canteen's.
  await holder.query('COMMIT');
  const outcomes = await Promise.allSettled([deletingPay, deletingCanteen]);
  expect(outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => String(o.reason))).toEqual([]);
  const rows = await db.query<{ id: string; answer: string | null; redacted: boolean }>(`SELECT id, answer, redacted_at IS NOT NULL AS redacted FROM queries ORDER BY id`);
  expect(rows.rows).toEqual([B, F, A, Z].map((id) => ({ id, answer: null, redacted: true })));
}, 30_000);
