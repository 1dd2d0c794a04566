import { HEADERS, type Identity } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { TEAM_A, TEAM_B, TEST_SECRET } from '../testing/http.js';
import { auditRowsFor, type AuditRow } from '../testing/audit-rows.js';
import { startTestIngestion, type TestIngestion } from '../testing/test-ingestion.js';

/**
 * Replacing a document's content and deleting a document each commit with their governance audit
 * row: who (the signed identity; for a replacement, its upload's), the request, the document, its
 * collection and owning team, and chunk counts, never its title, file name, hash or text.
 */
let t: TestIngestion;
beforeAll(async () => {
  t = await startTestIngestion('documents-audit');
});
afterAll(async () => {
  await t?.stop();
});

const rowsFor = (targetId: string) => auditRowsFor(t.db, targetId);

async function send(method: string, path: string, json: unknown, identity: Identity, requestId: string) {
  const res = await fetch(`${t.server.url}${path}`, {
    method,
    headers: { [HEADERS.identity]: signIdentity(identity, TEST_SECRET), [HEADERS.traceId]: requestId, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const secret = (n: number) => Array.from({ length: n }, (_, i) => `Paragraph ${i}: the vault code is 4711 and nobody may know it.`).join('\n\n');

test('a replacement and a delete each leave one row naming the caller, the request and counts, no text', async () => {
  const coll = await t.api.createCollection({ name: 'Audited documents', embedding_model: 'openai/small', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } }, TEAM_B);
  const created = await send('POST', `/v1/collections/${coll.id}/documents`, { text: secret(3), title: 'Vault notes' }, TEAM_B, `req-upload-${Date.now()}`);
  expect(created.status).toBe(202);
  const id = created.body.documents[0].id as string;
  const first = await t.api.waitForDocument(id);
  expect(first.status).toBe('ready');

  const replaceId = `req-replace-${Date.now()}`;
  const put = await send('PUT', `/v1/documents/${id}`, { text: secret(9), title: 'Vault notes, second edition' }, TEAM_B, replaceId);
  expect(put.status).toBe(202);
  const replacement = put.body.documents[0].id as string;
  expect((await t.api.waitForDocument(replacement)).status).toBe('ready');
  const second = await t.api.waitForDocument(id);

  // An organisation admin deletes it: the row names the admin, and the owner in its details.
  const deleteId = `req-delete-${Date.now()}`;
  expect((await send('DELETE', `/v1/documents/${id}`, undefined, TEAM_A, deleteId)).status).toBe(200);

  const rows = await rowsFor(id);
  expect(rows.map((r) => r.action)).toEqual(['document.replace', 'document.delete']);
  const [replace, del] = rows as [AuditRow, AuditRow];
  for (const r of rows) expect(r).toMatchObject({ outcome: 'ok', target_type: 'document', target_id: id, before: null, after: null });
  expect(replace).toMatchObject({
    request_id: replaceId,
    actor_key_id: TEAM_B.key_id,
    actor_team_id: TEAM_B.team_id,
    details: { collection_id: coll.id, owner_team_id: TEAM_B.team_id, replacement_id: replacement, chunks_before: first.progress.chunks_total, chunks_after: second.progress.chunks_total },
  });
  expect(second.progress.chunks_total).toBeGreaterThan(first.progress.chunks_total);
  expect(del).toMatchObject({
    request_id: deleteId,
    actor_key_id: TEAM_A.key_id,
    actor_team_id: TEAM_A.team_id,
    details: { collection_id: coll.id, owner_team_id: TEAM_B.team_id, chunks: second.progress.chunks_total, chunks_all_sets: second.progress.chunks_total },
  });
  const written = JSON.stringify(rows);
  for (const leak of ['vault', 'Vault', '4711', first.content_sha256, second.content_sha256]) expect(written).not.toContain(leak);
});

test('a delete that finds nothing (missing, or not the caller\'s to change) writes no row', async () => {
  const coll = await t.api.createCollection({ name: 'Not yours', embedding_model: 'openai/small' }, TEAM_B);
  const created = await send('POST', `/v1/collections/${coll.id}/documents`, { text: secret(2) }, TEAM_B, `req-upload-${Date.now()}`);
  const id = created.body.documents[0].id as string;
  await t.api.waitForDocument(id);
  const stranger: Identity = { team_id: 'team-c', key_id: 'key-c', role: 'knowledge-admin', groups: [] };
  expect((await send('DELETE', `/v1/documents/${id}`, undefined, stranger, 'req-stranger')).status).toBe(404);
  expect(await rowsFor(id)).toEqual([]);
});
