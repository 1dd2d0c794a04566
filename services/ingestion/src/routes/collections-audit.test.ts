import { HEADERS } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { TEAM_A, TEAM_B, TEST_SECRET } from '../testing/http.js';
import { auditRowsFor, type AuditRow } from '../testing/audit-rows.js';
import { startTestIngestion, type TestIngestion } from '../testing/test-ingestion.js';

/**
 * Creating, changing and deleting a collection each commit with their governance audit row (the
 * table `GET /v1/audit` lists): who did it (the signed identity, an organisation admin as itself),
 * the request, the collection, its owning team and the settings that changed, never document text.
 */
let t: TestIngestion;
beforeAll(async () => {
  t = await startTestIngestion('collections-audit');
});
afterAll(async () => {
  await t?.stop();
});

const rowsFor = (targetId: string) => auditRowsFor(t.db, targetId);

/** A call with our own request id, to find it on the audit row. */
async function send(method: string, path: string, json: unknown, identity = TEAM_B, requestId = `req-${method.toLowerCase()}-${Date.now()}`) {
  const res = await fetch(`${t.server.url}${path}`, {
    method,
    headers: { [HEADERS.identity]: signIdentity(identity, TEST_SECRET), [HEADERS.traceId]: requestId, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  return { status: res.status, body: (await res.json()) as any, requestId };
}

test('a create, a change and a delete each leave one row naming the caller, the request and what changed', async () => {
  const created = await send('POST', '/v1/collections', { name: 'Audited', description: 'Ferry timetables', embedding_model: 'openai/small' });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const uploaded = await t.api.upload(id, [{ name: 'secret.txt', bytes: 'The launch code is 0000 and nobody may know it.', type: 'text/plain' }], { identity: TEAM_B });
  expect(uploaded.status).toBe(202);
  await t.api.waitForDocument(uploaded.body.documents[0].id);

  // Only the settings whose value changes are named: the description is sent unchanged.
  const patched = await send('PATCH', `/v1/collections/${id}`, { description: 'Ferry timetables', generation_model: 'openai/gpt-4o-mini' });
  expect(patched.status).toBe(200);
  // An organisation admin acts on another team's collection: the row names the admin, and the owner in its details.
  const byAdmin = await send('PATCH', `/v1/collections/${id}`, { name: 'Audited ferries', rerank_model: null }, TEAM_A);
  expect(byAdmin.status).toBe(200);
  const deleted = await send('DELETE', `/v1/collections/${id}`, undefined);
  expect(deleted.status).toBe(200);

  const rows = await rowsFor(id);
  expect(rows.map((r) => r.action)).toEqual(['collection.create', 'collection.update', 'collection.update', 'collection.delete']);
  const [create, update, adminUpdate, del] = rows as [AuditRow, AuditRow, AuditRow, AuditRow];
  for (const r of rows) expect(r).toMatchObject({ outcome: 'ok', target_type: 'collection', target_id: id });
  expect(create).toMatchObject({
    request_id: created.requestId,
    actor_key_id: TEAM_B.key_id,
    actor_team_id: TEAM_B.team_id,
    before: null,
    after: { name: 'Audited', description: 'Ferry timetables', embedding_model: 'openai/small', generation_model: null, rerank_model: null, embedding_dimensions: null },
    details: { owner_team_id: TEAM_B.team_id, fields: expect.arrayContaining(['name', 'embedding_model', 'chunking']) },
  });
  expect(update).toMatchObject({
    request_id: patched.requestId,
    actor_key_id: TEAM_B.key_id,
    before: { generation_model: null },
    after: { generation_model: 'openai/gpt-4o-mini' },
    details: { owner_team_id: TEAM_B.team_id, fields: ['generation_model'] },
  });
  expect(adminUpdate).toMatchObject({
    request_id: byAdmin.requestId,
    actor_key_id: TEAM_A.key_id,
    actor_team_id: TEAM_A.team_id,
    before: { name: 'Audited' },
    after: { name: 'Audited ferries' },
    details: { owner_team_id: TEAM_B.team_id, fields: ['name'] },
  });
  expect(del).toMatchObject({
    request_id: deleted.requestId,
    actor_key_id: TEAM_B.key_id,
    before: { name: 'Audited ferries', generation_model: 'openai/gpt-4o-mini' },
    after: null,
    details: { owner_team_id: TEAM_B.team_id, documents: 1, index_versions: 1 },
  });
  expect(JSON.stringify(rows)).not.toContain('launch code');
});

test('a change whose audit row cannot be written does not happen', async () => {
  const id = (await t.api.createCollection({ name: 'Unauditable' }, TEAM_B)).id;
  await t.db.exec(`CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$;
CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION test_refuse_audit();`);
  try {
    expect((await send('POST', '/v1/collections', { name: 'Never created' })).status).toBe(500);
    expect((await send('PATCH', `/v1/collections/${id}`, { name: 'Never renamed' })).status).toBe(500);
    expect((await send('DELETE', `/v1/collections/${id}`, undefined)).status).toBe(500);
  } finally {
    await t.db.exec(`DROP TRIGGER test_refuse_audit ON audit_log; DROP FUNCTION test_refuse_audit();`);
  }
  const left = await t.db.query<{ name: string }>(`SELECT name FROM collections WHERE team_id = $1 AND name IN ('Unauditable', 'Never created', 'Never renamed')`, [TEAM_B.team_id]);
  expect(left.rows.map((r) => r.name)).toEqual(['Unauditable']);
  expect((await send('GET', `/v1/collections/${id}`, undefined)).body.name).toBe('Unauditable');
});
