import { createHash } from 'node:crypto';
import { HEADERS, type Identity } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { insertDocument } from '../repo/documents-repo.js';
import { auditRowsFor } from '../testing/audit-rows.js';
import { gateEmbeddings } from '../testing/gate-embeddings.js';
import { TEAM_A, TEAM_B, TEST_SECRET } from '../testing/http.js';
import { startTestIngestion, type TestIngestion } from '../testing/test-ingestion.js';

/**
 * `PATCH /v1/documents/:id`: a document's title and metadata change without a new upload, for who may
 * replace or delete it, validated as uploads are, with `access_groups` taking effect at once and an
 * audit row that names what changed, never its values.
 */
let t: TestIngestion;
let coll: string;
/** The owning team's knowledge-admin (TEAM_B); TEAM_A is an organisation admin. */
const OWNER = TEAM_B;
const MEMBER: Identity = { ...TEAM_B, key_id: 'key-b-member', role: 'member', groups: [] };
const STRANGER: Identity = { team_id: 'team-c', key_id: 'key-c', role: 'knowledge-admin', groups: [] };

async function patch(id: string, body: unknown, identity: Identity = OWNER, requestId = `req-${Math.random()}`) {
  const res = await fetch(`${t.server.url}/v1/documents/${id}`, {
    method: 'PATCH',
    headers: { [HEADERS.identity]: signIdentity(identity, TEST_SECRET), [HEADERS.traceId]: requestId, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}
const get = (id: string, identity: Identity = OWNER) => t.api.call(`/v1/documents/${id}`, { identity });

async function upload(title: string, metadata: Record<string, unknown>): Promise<string> {
  const r = await t.api.call(`/v1/collections/${coll}/documents`, { json: { text: `The ${title} says what it says.`, title, metadata }, identity: OWNER });
  expect(r.status).toBe(202);
  const id = r.body.documents[0].id as string;
  expect((await t.api.waitForDocument(id)).status).toBe('ready');
  return id;
}

beforeAll(async () => {
  t = await startTestIngestion('documents-patch');
  coll = (await t.api.createCollection({ name: 'Described', embedding_model: 'openai/small' }, OWNER)).id;
});

afterAll(async () => {
  await t?.stop();
});

test('sets the title and replaces the whole metadata object; the answer and a later GET show it', async () => {
  const id = await upload('Holiday rules', { tags: ['hr'], department: 'people', year: 2023 });
  const before = (await get(id)).body;

  const changed = await patch(id, { title: 'Holiday rules 2024', metadata: { tags: ['hr', 'policy'], year: 2024 } });
  expect(changed.status).toBe(200);
  expect(changed.body).toMatchObject({ id, title: 'Holiday rules 2024', metadata: { tags: ['hr', 'policy'], year: 2024 }, status: 'ready', replacement: null });
  // `department` was left out: it is gone, not kept.
  expect(changed.body.metadata).not.toHaveProperty('department');
  expect(Date.parse(changed.body.updated_at)).toBeGreaterThan(Date.parse(before.updated_at));
  expect((await get(id)).body).toMatchObject({ title: 'Holiday rules 2024', metadata: { tags: ['hr', 'policy'], year: 2024 }, content_sha256: before.content_sha256, progress: before.progress });

  // One field at a time leaves the other as it is; a null title clears it.
  expect((await patch(id, { metadata: {} })).body).toMatchObject({ title: 'Holiday rules 2024', metadata: {} });
  expect((await patch(id, { title: null })).body).toMatchObject({ title: null, metadata: {} });
  // The list's filters read what was stored.
  await patch(id, { title: 'Leave', metadata: { tags: ['leave'] } });
  const listed = await t.api.call(`/v1/collections/${coll}/documents?tag=leave&name=LEA`, { identity: OWNER });
  expect(listed.body.data.map((d: { id: string }) => d.id)).toEqual([id]);
});

test('access_groups in the new metadata decide who may read the document at once', async () => {
  const id = await upload('Salary bands', {});
  expect((await get(id, MEMBER)).status).toBe(200);

  expect((await patch(id, { metadata: { access_groups: ['payroll'] } })).status).toBe(200);
  const stored = await t.db.query<{ access_groups: string[] }>(`SELECT access_groups FROM documents WHERE id = $1`, [id]);
  expect(stored.rows[0]!.access_groups).toEqual(['payroll']);
  expect((await get(id, MEMBER)).status).toBe(404);
  expect((await get(id, { ...MEMBER, groups: ['payroll'] })).status).toBe(200);
  const members = await t.api.call(`/v1/collections/${coll}`, { identity: MEMBER });
  const owners = await t.api.call(`/v1/collections/${coll}`, { identity: OWNER });
  expect(members.body.document_counts.ready).toBe(owners.body.document_counts.ready - 1);

  // And removing the key lifts the restriction.
  expect((await patch(id, { metadata: { note: 'open again' } })).status).toBe(200);
  expect((await get(id, MEMBER)).status).toBe(200);
});

test.each([
  ['an empty body', {}, ''],
  ['an unknown field', { title: 'x', colour: 'blue' }, 'colour'],
  ['access_groups as a string', { metadata: { access_groups: 'hr' } }, 'metadata.access_groups'],
  ['an empty group name', { metadata: { access_groups: [''] } }, 'metadata.access_groups'],
  ['a nested object', { metadata: { nested: { no: 'objects' } } }, 'metadata.nested'],
  ['metadata as a string', { metadata: 'tags=hr' }, 'metadata'],
  ['null metadata', { metadata: null }, 'metadata'],
  ['a NUL in the title', { title: 'a\u0000b' }, 'title'],
  ['a title over 500 characters', { title: 'x'.repeat(501) }, 'title'],
  ['a number as title', { title: 42 }, 'title'],
])('%s is a 400 (param %j) and changes nothing', async (label, body, param) => {
  const title = `Refused: ${label}`;
  const id = await upload(title, { tags: ['kept'] });
  const r = await patch(id, body);
  expect(r.status).toBe(400);
  expect(r.body.error).toMatchObject({ code: 'invalid_request', param: param || null });
  expect((await get(id)).body).toMatchObject({ title, metadata: { tags: ['kept'] } });
});

test('needs the right to change the document: another team, a read grant, or a document the caller may not see is a 404; a write grant may', async () => {
  const id = await upload('Granted', { tags: ['a'] });
  expect((await patch(id, { title: 'no' }, STRANGER)).status).toBe(404);
  for (const team of [OWNER.team_id, STRANGER.team_id]) await t.db.query(`INSERT INTO teams (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, [team]);
  await t.db.query(`INSERT INTO collection_grants (collection_id, team_id, access, granted_by) VALUES ($1, $2, 'read', 'key-admin')`, [coll, STRANGER.team_id]);
  expect((await get(id, STRANGER)).status).toBe(200);
  expect((await patch(id, { title: 'no' }, STRANGER)).body.error.code).toBe('document_not_found');
  await t.db.query(`UPDATE collection_grants SET access = 'write' WHERE collection_id = $1 AND team_id = $2`, [coll, STRANGER.team_id]);
  expect((await patch(id, { title: 'Granted, renamed' }, STRANGER)).status).toBe(200);

  // Restricted to a group the writer of the granted team does not hold: it may not see it, so may not change it.
  await patch(id, { metadata: { access_groups: ['board'] } });
  expect((await patch(id, { title: 'no' }, STRANGER)).status).toBe(404);
  // An organisation admin may.
  expect((await patch(id, { title: 'By the organisation admin' }, TEAM_A)).status).toBe(200);
  expect((await patch('not-a-uuid', { title: 'no' })).status).toBe(404);
  expect((await patch('00000000-0000-4000-8000-000000000000', { title: 'no' })).status).toBe(404);
  expect((await get(id)).body.title).toBe('By the organisation admin');
});

test('a replacement row is not a document to describe: 409 naming the document', async () => {
  const id = await upload('Replaced', {});
  const replacement = await t.db.transaction(async (tx) => {
    await tx.query(`SELECT 1 FROM documents WHERE id = $1 FOR UPDATE`, [id]);
    return insertDocument(tx, { collectionId: coll, title: null, filename: 'r.txt', mime: 'text/plain', bytes: new TextEncoder().encode('next'), sha256: 'next', metadata: {}, identity: OWNER, traceId: 'trace-next', replacesDocumentId: id });
  });
  const r = await patch(replacement.id, { title: 'no' });
  expect(r.status).toBe(409);
  expect(r.body.error.code).toBe('conflict');
  expect(r.body.error.message).toContain(`PATCH /v1/documents/${id}`);
});

test('each change commits with an audit row naming the caller, the fields and metadata keys changed, never their values', async () => {
  const id = await upload('Secret project', { codename: 'bluebird', tags: ['x'] });
  await patch(id, { title: 'Project notes', metadata: { codename: 'redwing', tags: ['x'], access_groups: ['core'] } }, OWNER, 'req-patch-1');
  await patch(id, { title: 'Project notes' }, TEAM_A, 'req-patch-2');
  const rows = await auditRowsFor(t.db, id);
  expect(rows.map((r) => r.action)).toEqual(['document.update', 'document.update']);
  expect(rows[0]).toMatchObject({
    request_id: 'req-patch-1',
    actor_key_id: OWNER.key_id,
    actor_team_id: OWNER.team_id,
    outcome: 'ok',
    target_type: 'document',
    target_id: id,
    before: null,
    after: null,
    details: { collection_id: coll, owner_team_id: OWNER.team_id, fields: ['metadata', 'title'], metadata_keys: ['access_groups', 'codename'] },
  });
  // The organisation admin's row names it, and the owner; a title set to what it was changes nothing.
  expect(rows[1]).toMatchObject({ request_id: 'req-patch-2', actor_key_id: TEAM_A.key_id, details: { owner_team_id: OWNER.team_id, fields: [], metadata_keys: [] } });
  const written = JSON.stringify(rows);
  for (const leak of ['bluebird', 'redwing', 'Secret', 'Project notes', 'core']) expect(written).not.toContain(leak);
  // A refused PATCH writes none.
  await patch(id, { title: 'no' }, STRANGER);
  expect(await auditRowsFor(t.db, id)).toHaveLength(2);
});

test("an edit made while a new version is pending wins over the version's own title and metadata; a version accepted after it merges its own", async () => {
  const id = await upload('Travel policy', { tags: ['travel'], region: 'eu' });
  const put = (body: Record<string, unknown>) => t.api.call(`/v1/documents/${id}`, { method: 'PUT', json: body, identity: OWNER });
  const held = gateEmbeddings(t.fake.models, ['walrus']);
  try {
    const pending = await put({ text: 'The walrus edition of the travel policy.', title: 'Travel policy (uploaded)', metadata: { tags: ['uploaded'], owner: 'ops' } });
    expect(pending.status).toBe(202);
    const replacementId = pending.body.documents[0].id as string;
    await held.reached('walrus');

    const edited = await patch(id, { title: 'Travel policy (edited)', metadata: { tags: ['travel', 'policy'] } });
    expect(edited.body).toMatchObject({ title: 'Travel policy (edited)', replacement: { id: replacementId, status: 'processing' } });
    expect((await auditRowsFor(t.db, id)).at(-1)).toMatchObject({ action: 'document.update', details: { carried_into_replacements: [replacementId] } });
    held.release('walrus');
    expect(await t.api.waitForDocument(replacementId)).toMatchObject({ status: 'ready', document_id: id });
  } finally {
    held.restore();
  }
  // The new content, under the admin's edit: the upload's title and metadata came before it.
  const swapped = (await get(id)).body;
  expect(swapped).toMatchObject({ title: 'Travel policy (edited)', metadata: { tags: ['travel', 'policy'] }, content_sha256: createHash('sha256').update('The walrus edition of the travel policy.').digest('hex') });
  expect(swapped.metadata).not.toHaveProperty('owner');

  // A version accepted after the edit is the later write: its metadata merges over the edited one.
  const later = await put({ text: 'The third edition of the travel policy.', metadata: { owner: 'ops' } });
  expect((await t.api.waitForDocument(later.body.documents[0].id)).status).toBe('ready');
  expect((await get(id)).body).toMatchObject({ title: 'Travel policy (edited)', metadata: { tags: ['travel', 'policy'], owner: 'ops' } });
});
