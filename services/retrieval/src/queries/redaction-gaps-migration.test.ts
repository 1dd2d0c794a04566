import { randomUUID } from 'node:crypto';
import { loadMigrations, migrate, openPGlite, openPostgres, type Db } from '@quire/db';

/**
 * migrations/0025_redaction_gaps.sql on a database that has history: it redacts the follow-ups asked
 * after a redacted query in its conversation (their rewrite and answer may repeat its words), blanks
 * the feedback comments of redacted queries, redacts benchmark results and synthetic cases' reference
 * answers drawn from deleted documents, and drops cached vectors of text no chunk of their team holds
 * (a failed document deleted before it left them behind).
 */
const all = loadMigrations();
const GAPS = all.find((m) => m.name.includes('redaction_gaps'))!;

const adminUrl = process.env.QUIRE_TEST_DATABASE_URL;
/** quire_scratch_<pid>_...: scripts/test-postgres.sh drops such databases a killed run left behind. */
const scratch = `quire_scratch_${process.pid}_${Date.now().toString(36)}`;

/** An empty database: PGlite, or a scratch one on the PostgreSQL server of the PostgreSQL pass. */
async function openEmpty(): Promise<Db> {
  if (!adminUrl) return openPGlite();
  const admin = openPostgres(adminUrl, { max: 1 });
  await admin.query(`CREATE DATABASE ${scratch}`).finally(() => admin.close());
  const url = new URL(adminUrl);
  url.pathname = `/${scratch}`;
  return openPostgres(url.toString());
}

let db: Db;
beforeAll(async () => {
  db = await openEmpty();
  await migrate(db, all.filter((m) => m.id < GAPS.id));
});
afterAll(async () => {
  await db?.close();
  if (adminUrl) {
    const admin = openPostgres(adminUrl, { max: 1 });
    await admin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`).finally(() => admin.close());
  }
});

test('it redacts later follow-ups, comments of redacted queries and evaluation data of deleted documents, and drops vectors no chunk of their team holds', async () => {
  const [collection, doc] = [randomUUID(), randomUUID()];
  await db.query(`INSERT INTO collections (id, team_id, name, chunking) VALUES ($1, 't', 'c', '{}'::jsonb)`, [collection]);
  await db.query(`INSERT INTO documents (id, collection_id, team_id, title, mime_type, byte_size, content_sha256, status) VALUES ($1, $2, 't', 'd', 'text/plain', 1, 'sha', 'ready')`, [doc, collection]);
  const query = async (conversationId: string | null, at: string, fields: { redacted?: boolean; rewritten?: string | null }) => {
    const id = randomUUID();
    await db.query(
      `INSERT INTO queries (id, team_id, key_id, collection_id, collection_ids, kind, query, status, answer, rewritten_query, conversation_id, created_at, redacted_at)
       VALUES ($1, 't', 'k', $2, ARRAY[$2::uuid], 'answer', 'q', 'ok', $3, $4, $5, $6::timestamptz, CASE WHEN $7::boolean THEN now() END)`,
      [id, collection, fields.redacted ? null : 'the bonus is 417 euros', fields.rewritten ?? null, conversationId, at, fields.redacted ?? false],
    );
    if (conversationId) {
      await db.query(`INSERT INTO conversations (id, team_id, key_id, collection_ids) VALUES ($1, 't', 'k', ARRAY[$2::uuid]) ON CONFLICT DO NOTHING`, [conversationId, collection]);
      await db.query(`INSERT INTO conversation_turns (conversation_id, query_id, role, content) VALUES ($1, $2, 'assistant', 'the bonus is 417 euros')`, [conversationId, id]);
    }
    await db.query(`INSERT INTO query_feedback (query_id, team_id, key_id, rating, comment) VALUES ($1, 't', 'k', 'down', 'it said 417 euros')`, [id]);
    return id;
  };
  const [tainted, clean] = [randomUUID(), randomUUID()];
  const before = await query(tainted, '2026-01-01T10:00:00Z', { rewritten: 'an earlier follow-up' });
  const redacted = await query(tainted, '2026-01-01T10:01:00Z', { redacted: true });
  const followUp = await query(tainted, '2026-01-01T10:02:00Z', { rewritten: 'the 417 euros bonus per week' });
  const notRewritten = await query(tainted, '2026-01-01T10:03:00Z', {});
  const elsewhere = await query(clean, '2026-01-01T10:02:00Z', { rewritten: 'canteen hours' });

  // Cached vectors: one text a chunk of the team holds, one only another team's chunk holds, one no chunk holds.
  await db.query(
    `INSERT INTO chunks (document_id, collection_id, ordinal, text, content_sha256, char_start, char_end) VALUES ($1, $2, 0, 'kept', 'held', 0, 4), ($1, $2, 1, 'x', 'other-team', 0, 1)`,
    [doc, collection],
  );
  const vector = `[${Array.from({ length: 4 }, () => '0.5').join(',')}]`;
  for (const [hash, team] of [['held', 't'], ['other-team', 'u'], ['orphan', 't']]) {
    await db.query(`INSERT INTO embedding_cache (team_id, content_sha256, embedding_model, requested_dimensions, embedding) VALUES ($1, $2, 'm', 0, $3::vector)`, [team, hash, vector]);
  }

  // Evaluation: a result that ranked a document deleted since, one whose query was redacted (a
  // replacement), one that drew on a live document; synthetic and authored cases of the deleted one.
  const gone = randomUUID();
  const setId = randomUUID();
  await db.query(`INSERT INTO eval_sets (id, team_id, collection_id, name) VALUES ($1, 't', $2, 's')`, [setId, collection]);
  const evalCase = async (documentId: string, synthetic: boolean) =>
    (
      await db.query<{ id: string }>(
        `INSERT INTO eval_cases (eval_set_id, ordinal, question, relevant, reference_answer, synthetic) VALUES ($1, 0, 'q', $2::jsonb, 'it is 417 euros', $3) RETURNING id`,
        [setId, JSON.stringify([{ document_id: documentId, grade: 1 }]), synthetic],
      )
    ).rows[0]!.id;
  const [syntheticGone, authoredGone, syntheticLive] = [await evalCase(gone, true), await evalCase(gone, false), await evalCase(doc, true)];
  const benchmark = (
    await db.query<{ id: string }>(
      `INSERT INTO benchmarks (team_id, eval_set_id, collection_id, configurations, identity, cases_total) VALUES ('t', $1, $2, '[]'::jsonb, '{}'::jsonb, 3) RETURNING id`,
      [setId, collection],
    )
  ).rows[0]!.id;
  const details = (documentId: string) => JSON.stringify({ citations: [{ chunk_id: randomUUID(), document_id: documentId, supported: true }], judge: { correctness: 1, faithfulness: 1, reason: 'it says 417 euros' } });
  const benchmarkResult = (caseId: string, ranked: string[], cited: string, queryId: string | null) =>
    db.query(
      `INSERT INTO benchmark_results (benchmark_id, config_index, case_id, query_id, status, metrics, ranked, answer, details) VALUES ($1, 0, $2, $3, 'ok', '{"ndcg@5": 1}'::jsonb, $4::jsonb, 'it is 417 euros', $5::jsonb)`,
      [benchmark, caseId, queryId, JSON.stringify(ranked.map((d) => ({ chunk_id: randomUUID(), document_id: d }))), details(cited)],
    );
  await benchmarkResult(syntheticGone, [doc], gone, null);
  await benchmarkResult(authoredGone, [doc], doc, redacted);
  await benchmarkResult(syntheticLive, [doc], doc, before);

  await migrate(db, all.filter((m) => m.id <= GAPS.id));

  const rows = await db.query<{ id: string; answer: string | null; rewritten_query: string | null; redacted: boolean }>(`SELECT id, answer, rewritten_query, redacted_at IS NOT NULL AS redacted FROM queries`);
  const byId = new Map(rows.rows.map((r) => [r.id, r]));
  expect(byId.get(followUp)).toMatchObject({ answer: null, rewritten_query: null, redacted: true });
  expect(byId.get(before)).toMatchObject({ answer: 'the bonus is 417 euros', rewritten_query: 'an earlier follow-up', redacted: false });
  // Not rewritten from the conversation: its prompt held no turn.
  expect(byId.get(notRewritten)).toMatchObject({ answer: 'the bonus is 417 euros', redacted: false });
  expect(byId.get(elsewhere)).toMatchObject({ rewritten_query: 'canteen hours', redacted: false });

  const comments = await db.query<{ query_id: string; rating: string; comment: string | null }>(`SELECT query_id, rating, comment FROM query_feedback`);
  const commentOf = new Map(comments.rows.map((r) => [r.query_id, r]));
  for (const id of [redacted, followUp]) expect(commentOf.get(id)).toMatchObject({ rating: 'down', comment: null });
  for (const id of [before, notRewritten, elsewhere]) expect(commentOf.get(id)?.comment).toBe('it said 417 euros');

  const turns = await db.query<{ query_id: string }>(`SELECT query_id FROM conversation_turns ORDER BY id`);
  expect(turns.rows.map((r) => r.query_id).sort()).toEqual([before, notRewritten, elsewhere].sort());

  const cached = await db.query<{ team_id: string; content_sha256: string }>(`SELECT team_id, content_sha256 FROM embedding_cache ORDER BY content_sha256`);
  expect(cached.rows).toEqual([{ team_id: 't', content_sha256: 'held' }]);

  const results = await db.query<{ case_id: string; answer: string | null; reason: string | null; document_ids: string[]; redacted: boolean; ndcg: number }>(
    `SELECT case_id, answer, details #>> '{judge,reason}' AS reason, document_ids, redacted_at IS NOT NULL AS redacted, (metrics ->> 'ndcg@5')::int AS ndcg FROM benchmark_results`,
  );
  const resultOf = new Map(results.rows.map((r) => [r.case_id, r]));
  expect(resultOf.get(syntheticGone)).toMatchObject({ answer: null, reason: null, redacted: true, ndcg: 1 });
  expect(resultOf.get(syntheticGone)!.document_ids.sort()).toEqual([doc, gone].sort());
  expect(resultOf.get(authoredGone)).toMatchObject({ answer: null, reason: null, redacted: true, document_ids: [doc] });
  expect(resultOf.get(syntheticLive)).toMatchObject({ answer: 'it is 417 euros', reason: 'it says 417 euros', redacted: false, document_ids: [doc] });

  const references = await db.query<{ id: string; reference_answer: string | null }>(`SELECT id, reference_answer FROM eval_cases`);
  const referenceOf = new Map(references.rows.map((r) => [r.id, r.reference_answer]));
  expect(referenceOf.get(syntheticGone)).toBeNull();
  expect(referenceOf.get(authoredGone)).toBe('it is 417 euros');
  expect(referenceOf.get(syntheticLive)).toBe('it is 417 euros');
});
