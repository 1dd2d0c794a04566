/**
 * Concurrent multi-file uploads on a PostgreSQL server (PGlite runs one transaction at a time).
 */
import pg from 'pg';
import { waitForLockWaiters, type PostgresTestDatabase } from '@quire/db';
import { updateCollection } from './repo/collections-repo.js';
import { gateEmbeddings } from './testing/gate-embeddings.js';
import { TEAM_A } from './testing/http.js';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';

let t: TestIngestion;
let gate: pg.Client;

beforeAll(async () => {
  t = await startTestIngestion('upload-races');
  gate = new pg.Client({ connectionString: (t.db as PostgresTestDatabase).connectionString });
  await gate.connect();
});
afterAll(async () => {
  await gate?.end();
  await t?.stop();
});

test('two uploads of the same files in opposite orders both succeed, with one document per file', async () => {
  const coll = await t.api.createCollection({ name: 'Races' });
  const a = { name: 'a.txt', bytes: new TextEncoder().encode('Alpha file about harbours.') };
  const b = { name: 'b.txt', bytes: new TextEncoder().encode('Beta file about gardens.') };
  const { createHash } = await import('node:crypto');
  const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
  // Hold the duplicate-check lock of the second file in hash order, so both uploads are inside their
  // transactions at once: taken in upload order, one would hold a's lock and the other b's.
  const [, later] = [sha(a.bytes), sha(b.bytes)].sort();
  await gate.query('SELECT pg_advisory_lock(hashtext($1))', [`${coll.id}:${later}`]);
  const first = t.api.upload(coll.id, [a, b]);
  const second = t.api.upload(coll.id, [b, a]);
  await waitForLockWaiters(gate, 2);
  await gate.query('SELECT pg_advisory_unlock(hashtext($1))', [`${coll.id}:${later}`]);
  const [r1, r2] = await Promise.all([first, second]);
  expect([r1.status, r2.status].sort()).toEqual([200, 202]);
  const ids = (r: { body: { documents: { id: string }[] } }) => r.body.documents.map((d) => d.id).sort();
  expect(ids(r1)).toEqual(ids(r2));
  const rows = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM documents WHERE collection_id = $1`, [coll.id]);
  expect(rows.rows[0]!.n).toBe(2);
});

test("a collection update does not hold off uploads' foreign-key checks on its row (FOR NO KEY UPDATE)", async () => {
  const coll = await t.api.createCollection({ name: 'Renamed while uploading' });
  // An upload in flight: its documents' foreign-key check (and documents-repo's owner read) key-share locks the row.
  await gate.query('BEGIN');
  await gate.query(`SELECT 1 FROM collections WHERE id = $1 FOR KEY SHARE`, [coll.id]);
  let settled = false;
  const updating = updateCollection(t.db, TEAM_A.team_id, coll.id, { name: 'Renamed', description: 'Changed meanwhile' }, { team_id: TEAM_A.team_id, key_id: TEAM_A.key_id, requestId: null }).finally(() => (settled = true));
  // FOR UPDATE would wait for the upload's transaction, which is held open here.
  let waited = false;
  while (!settled && !waited) {
    const r = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`,
    );
    waited = r.rows[0]!.n > 0;
    if (!waited) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await gate.query('COMMIT');
  expect(waited).toBe(false);
  expect(await updating).toMatchObject({ id: coll.id, name: 'Renamed', description: 'Changed meanwhile' });
});

test('a new version (PUT) and an upload of the bytes of a failed document at once retry it once, without a deadlock', async () => {
  const coll = await t.api.createCollection({ name: 'Retried twice at once', embedding_model: 'openai/small' });
  const bytes = 'A file whose embedding failed for a fixable cause, about lighthouses.';
  const { ProviderError } = await import('@quire/models');
  t.fake.failures.push(new ProviderError({ code: 'provider_auth_failed', provider: 'openai', message: 'The provider rejected the API key.', status: 401 }));
  const first = await t.api.upload(coll.id, [{ name: 'l.txt', bytes, type: 'text/plain' }]);
  const doc = await t.api.waitForDocument(first.body.documents[0].id);
  expect(doc).toMatchObject({ status: 'failed', error: { retryable: true } });
  // Both wait on the bytes' lock, which each takes before the document's row (the PUT its target's lock).
  await gate.query('SELECT pg_advisory_lock(hashtext($1))', [`${coll.id}:${doc.content_sha256}`]);
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'text/plain' }), 'l.txt');
  const put = t.api.call(`/v1/documents/${doc.id}`, { method: 'PUT', form });
  const post = t.api.upload(coll.id, [{ name: 'l-again.txt', bytes, type: 'text/plain' }]);
  await waitForLockWaiters(gate, 2);
  await gate.query('SELECT pg_advisory_unlock(hashtext($1))', [`${coll.id}:${doc.content_sha256}`]);
  const [p, u] = await Promise.all([put, post]);
  expect([p.status, u.status].sort()).toEqual([200, 202]);
  expect(p.body).toMatchObject({ unchanged: true, documents: [{ id: doc.id, duplicate: true }] });
  expect(u.body.documents).toEqual([expect.objectContaining({ id: doc.id, duplicate: true })]);
  expect([p.body.documents[0].retried, u.body.documents[0].retried].sort()).toEqual([false, true]);
  expect((await t.api.waitForDocument(doc.id)).status).toBe('ready');
  const rows = await t.db.query<{ n: number; v: number }>(`SELECT count(*)::int AS n, max(version)::int AS v FROM documents WHERE collection_id = $1`, [coll.id]);
  expect(rows.rows[0]).toEqual({ n: 1, v: 2 });
});

test('a POST and a PUT elsewhere of the same bytes at once leave one document holding them, whichever is first', async () => {
  const coll = await t.api.createCollection({ name: 'Once at once', embedding_model: 'openai/small' });
  const { createHash } = await import('node:crypto');
  // Embeddings of the contested bytes are held, so the PUT's replacement is still pending when the POST looks.
  const held = gateEmbeddings(t.fake.models, ['narwhal', 'okapi']);
  try {
    for (const [marker, first] of [['narwhal', 'put'], ['okapi', 'post']] as const) {
      const created = await t.api.call(`/v1/collections/${coll.id}/documents`, { json: { text: `The target document, version one of the ${first} round.` } });
      const target = await t.api.waitForDocument(created.body.documents[0].id);
      const text = `The ${marker} version: a paragraph about ${marker}s and where they live.`;
      const sha = createHash('sha256').update(text).digest('hex');
      const put = () => t.api.call(`/v1/documents/${target.id}`, { method: 'PUT', json: { text } });
      const post = () => t.api.call(`/v1/collections/${coll.id}/documents`, { json: { text } });
      // Both wait on the bytes' lock; waiters are granted it in the order they queued, so `first` goes first.
      await gate.query('SELECT pg_advisory_lock(hashtext($1))', [`${coll.id}:${sha}`]);
      const earlier = first === 'put' ? put() : post();
      await waitForLockWaiters(gate, 1);
      const later = first === 'put' ? post() : put();
      await waitForLockWaiters(gate, 2);
      await gate.query('SELECT pg_advisory_unlock(hashtext($1))', [`${coll.id}:${sha}`]);
      const [accepted, refused] = await Promise.all([earlier, later]);
      expect([accepted.status, refused.status]).toEqual([202, 409]);
      expect(refused.body.reason).toBe(first === 'put' ? 'replacement_pending' : 'duplicate_content');
      held.release(marker);
      await t.api.waitForDocument(accepted.body.documents[0].id);
      const holders = await t.db.query<{ id: string }>(`SELECT id FROM documents WHERE collection_id = $1 AND content_sha256 = $2 AND replaces_document_id IS NULL`, [coll.id, sha]);
      expect(holders.rows).toHaveLength(1);
      if (first === 'put') expect(holders.rows[0]!.id).toBe(target.id);
    }
  } finally {
    held.restore();
  }
});
