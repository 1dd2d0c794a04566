import { randomUUID } from 'node:crypto';
import { loadMigrations, migrate, openPGlite, type Db } from '@quire/db';

/**
 * migrations/0022_query_lifecycle.sql on a database that has history: it fills `document_ids` from
 * the stored results and citations, and clears what collection and document deletes before it left
 * behind (queries, conversations and turns of deleted collections; answers quoting deleted documents).
 */
const all = loadMigrations();
const LIFECYCLE = all.find((m) => m.name.includes('query_lifecycle'))!;

let db: Db;
beforeAll(async () => {
  db = await openPGlite();
  await migrate(db, all.filter((m) => m.id < LIFECYCLE.id));
});
afterAll(async () => {
  await db?.close();
});

test('it backfills document_ids and removes or redacts what outlived its collection or document', async () => {
  const [live, gone, doc, deletedDoc] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  await db.query(`INSERT INTO collections (id, team_id, name, chunking) VALUES ($1, 't', 'live', '{}'::jsonb)`, [live]);
  await db.query(`INSERT INTO documents (id, collection_id, team_id, title, mime_type, byte_size, content_sha256, status) VALUES ($1, $2, 't', 'd', 'text/plain', 1, 'sha', 'ready')`, [doc, live]);
  const query = async (collections: string[], documents: string[], conversationId: string | null) => {
    const id = randomUUID();
    await db.query(
      `INSERT INTO queries (id, team_id, key_id, collection_id, collection_ids, kind, query, status, answer, results, citations)
       VALUES ($1, 't', 'k', $2, $3::uuid[], 'answer', 'q', 'ok', 'a secret answer', $4::jsonb, $5::jsonb)`,
      [id, collections[0], collections, JSON.stringify(documents.map((d) => ({ rank: 1, chunk_id: randomUUID(), document_id: d }))), JSON.stringify(documents.map((d) => ({ index: 1, document_id: d, quote: 'a secret quote' })))],
    );
    if (conversationId) {
      await db.query(`INSERT INTO conversations (id, team_id, key_id, collection_ids) VALUES ($1, 't', 'k', $2::uuid[]) ON CONFLICT DO NOTHING`, [conversationId, [collections[0]]]);
      await db.query(`INSERT INTO conversation_turns (conversation_id, query_id, role, content) VALUES ($1, $2, 'assistant', 'a secret answer')`, [conversationId, id]);
    }
    return id;
  };
  const [liveConversation, goneConversation] = [randomUUID(), randomUUID()];
  const kept = await query([live], [doc], liveConversation);
  const quotingDeleted = await query([live], [doc, deletedDoc], liveConversation);
  const ofGone = await query([gone], [], goneConversation);
  const spanningGone = await query([live, gone], [doc], liveConversation);
  // From before 0003: the collection only in collection_id.
  const old = randomUUID();
  await db.query(`INSERT INTO queries (id, team_id, key_id, collection_id, kind, query, status) VALUES ($1, 't', 'k', $2, 'search', 'q', 'ok')`, [old, live]);

  await migrate(db, all.filter((m) => m.id <= LIFECYCLE.id));

  const rows = await db.query<{ id: string; answer: string | null; citations: unknown; redacted: boolean; document_ids: string[]; collection_ids: string[] }>(
    `SELECT id, answer, citations, redacted_at IS NOT NULL AS redacted, document_ids, collection_ids FROM queries`,
  );
  const byId = new Map(rows.rows.map((r) => [r.id, r]));
  expect([...byId.keys()].sort()).toEqual([kept, quotingDeleted, old].sort());
  for (const id of [ofGone, spanningGone]) expect(byId.has(id)).toBe(false);
  expect(byId.get(kept)).toMatchObject({ answer: 'a secret answer', redacted: false, document_ids: [doc] });
  expect(byId.get(quotingDeleted)).toMatchObject({ answer: null, redacted: true });
  expect(JSON.stringify(byId.get(quotingDeleted)!.citations)).not.toContain('secret');
  expect(byId.get(quotingDeleted)!.document_ids.sort()).toEqual([doc, deletedDoc].sort());
  expect(byId.get(old)).toMatchObject({ collection_ids: [live], document_ids: [] });

  const conversations = await db.query<{ id: string }>(`SELECT id FROM conversations`);
  expect(conversations.rows.map((r) => r.id)).toEqual([liveConversation]);
  const turns = await db.query<{ query_id: string }>(`SELECT query_id FROM conversation_turns`);
  expect(turns.rows.map((r) => r.query_id)).toEqual([kept]);
});
