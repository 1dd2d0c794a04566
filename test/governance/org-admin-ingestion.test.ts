import { call, sleep, teamKey, uploadText } from './helpers.js';
import { useQuireStack } from './quire-stack.js';

/**
 * An organisation admin (role `admin`, team `default`) acts on another team's collection on
 * ingestion's routes, as it does on retrieval's owner-only ones: documents, index versions and the
 * collection itself. What it adds belongs to the owning team; what it costs is its own. Other
 * teams' knowledge-admins still meet 404, members 403 on writes, and grants work as before.
 */
const stack = useQuireStack();

const key = async (team: string, role: string) => (await teamKey(stack.url, team, role, {}, stack.adminAuth)).auth;

function form(name: string, text: string, metadata: Record<string, unknown> = {}) {
  const body = new FormData();
  body.append('file', new Blob([text], { type: 'text/plain' }), name);
  body.append('metadata', JSON.stringify(metadata));
  return body;
}

async function send(auth: Record<string, string>, method: 'POST' | 'PUT', path: string, name: string, text: string, metadata: Record<string, unknown> = {}) {
  const res = await fetch(`${stack.url}${path}`, { method, headers: auth, body: form(name, text, metadata) });
  return { status: res.status, body: (await res.json()) as any };
}

const upload = (auth: Record<string, string>, collection: string, name: string, text: string, metadata: Record<string, unknown> = {}) =>
  uploadText(stack.url, auth, collection, name, text, metadata);

async function versionReady(auth: Record<string, string>, collection: string, vid: string) {
  for (let i = 0; i < 300; i++) {
    const list = await call(stack.url, 'GET', `/v1/collections/${collection}/index-versions`, undefined, auth);
    const v = list.body.data.find((x: any) => x.id === vid);
    if (v?.status === 'ready' || v?.status === 'failed') return v;
    await sleep(100);
  }
  throw new Error(`index version ${vid} did not finish`);
}

describe('organisation admins on ingestion across teams', () => {
  let aWriter: Record<string, string>, aMember: Record<string, string>, bWriter: Record<string, string>, bMember: Record<string, string>, cWriter: Record<string, string>;
  let coll = '';
  let ownDoc = '';
  let hrDoc = '';

  beforeAll(async () => {
    aWriter = await key('oa-a', 'knowledge-admin');
    aMember = await key('oa-a', 'member');
    bWriter = await key('oa-b', 'knowledge-admin');
    bMember = await key('oa-b', 'member');
    cWriter = await key('oa-c', 'knowledge-admin');
    const created = await call(stack.url, 'POST', '/v1/collections', { name: 'Team A docs', embedding_model: 'openai/text-embedding-3-small' }, aWriter);
    expect(created.status).toBe(201);
    coll = created.body.id;
    ownDoc = await upload(aWriter, coll, 'owner.txt', 'Team A keeps its harbour schedule here. Ferries leave at nine.');
    hrDoc = await upload(aWriter, coll, 'hr.txt', 'Salary bands are reviewed every spring.', { access_groups: ['hr'] });
  }, 120_000);

  test('the admin lists, uploads, replaces, follows, builds and activates an index version, and deletes a document', async () => {
    const got = await call(stack.url, 'GET', `/v1/collections/${coll}`, undefined, stack.adminAuth);
    expect(got.status).toBe(200);
    expect(got.body.document_counts.ready).toBe(2);
    // Like the owning team's admins, it sees the access-grouped document too.
    const listed = await call(stack.url, 'GET', `/v1/collections/${coll}/documents`, undefined, stack.adminAuth);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((d: any) => d.id).sort()).toEqual([ownDoc, hrDoc].sort());
    expect((await call(stack.url, 'GET', `/v1/documents/${hrDoc}`, undefined, stack.adminAuth)).status).toBe(200);
    const events = await fetch(`${stack.url}/v1/documents/${ownDoc}/events`, { headers: stack.adminAuth });
    expect(events.status).toBe(200);
    expect(await events.text()).toContain('event: done');

    // An upload by the admin belongs to team A; its embedding cost is the admin's (team default).
    const adminDoc = await upload(stack.adminAuth, coll, 'from-admin.txt', 'The organisation admin adds a lighthouse maintenance note.');
    const row = await stack.harness.quire.db.query<{ team_id: string; submitter: string }>(`SELECT team_id, submitted_identity->>'team_id' AS submitter FROM documents WHERE id = $1`, [adminDoc]);
    expect(row.rows[0]).toEqual({ team_id: 'oa-a', submitter: 'default' });
    expect((await call(stack.url, 'GET', `/v1/documents/${adminDoc}`, undefined, aMember)).status).toBe(200);
    const spent = await stack.harness.quire.db.query<{ team_id: string }>(`SELECT DISTINCT team_id FROM usage_ledger WHERE collection_id = $1 AND purpose LIKE 'ingest%'`, [coll]);
    expect(spent.rows.map((r) => r.team_id).sort()).toEqual(['default', 'oa-a']);

    // It replaces a team A document in place.
    const replaced = await send(stack.adminAuth, 'PUT', `/v1/documents/${ownDoc}`, 'owner-v2.txt', 'Team A moved the ferry to ten o\'clock.');
    expect(replaced.status).toBe(202);
    for (let i = 0; i < 300 && (await call(stack.url, 'GET', `/v1/documents/${ownDoc}`, undefined, aWriter)).body.filename !== 'owner-v2.txt'; i++) await sleep(100);
    expect((await call(stack.url, 'GET', `/v1/documents/${ownDoc}`, undefined, aWriter)).body).toMatchObject({ status: 'ready', filename: 'owner-v2.txt' });

    // It builds, activates and drops index versions of team A's collection.
    const versions = await call(stack.url, 'GET', `/v1/collections/${coll}/index-versions`, undefined, stack.adminAuth);
    expect(versions.status).toBe(200);
    const first = versions.body.data.find((v: any) => v.current).id as string;
    const built = await call(stack.url, 'POST', `/v1/collections/${coll}/index-versions`, { embedding_model: 'openai/text-embedding-3-small', dimensions: 32 }, stack.adminAuth);
    expect(built.status).toBe(202);
    expect((await versionReady(stack.adminAuth, coll, built.body.id)).status).toBe('ready');
    const stored = await stack.harness.quire.db.query<{ submitter: string }>(`SELECT submitted_identity->>'team_id' AS submitter FROM index_versions WHERE id = $1 AND collection_id = $2`, [built.body.id, coll]);
    expect(stored.rows).toEqual([{ submitter: 'default' }]);
    const activated = await call(stack.url, 'POST', `/v1/collections/${coll}/index-versions/${built.body.id}/activate`, {}, stack.adminAuth);
    expect(activated.status).toBe(200);
    expect(activated.body.current).toBe(true);
    // The owning team sees the change.
    const ownerView = await call(stack.url, 'GET', `/v1/collections/${coll}/index-versions`, undefined, aWriter);
    expect(ownerView.body.data.find((v: any) => v.current).id).toBe(built.body.id);
    expect((await call(stack.url, 'DELETE', `/v1/collections/${coll}/index-versions/${first}`, undefined, stack.adminAuth)).status).toBe(200);

    // And deletes a document.
    expect((await call(stack.url, 'DELETE', `/v1/documents/${adminDoc}`, undefined, stack.adminAuth)).status).toBe(200);
    expect((await call(stack.url, 'GET', `/v1/documents/${adminDoc}`, undefined, aWriter)).status).toBe(404);
    // A missing collection or document is still a 404 for the admin.
    expect((await call(stack.url, 'GET', '/v1/collections/00000000-0000-4000-8000-000000000000/index-versions', undefined, stack.adminAuth)).status).toBe(404);
    expect((await call(stack.url, 'DELETE', '/v1/documents/not-a-uuid', undefined, stack.adminAuth)).status).toBe(404);
  }, 120_000);

  test('another team keeps its 404s (knowledge-admin) and 403s (member), on the same calls', async () => {
    const versions = await call(stack.url, 'GET', `/v1/collections/${coll}/index-versions`, undefined, aWriter);
    const current = versions.body.data.find((v: any) => v.current).id as string;
    const calls = [
      ['GET', `/v1/collections/${coll}`, undefined],
      ['GET', `/v1/collections/${coll}/documents`, undefined],
      ['GET', `/v1/documents/${ownDoc}`, undefined],
      ['GET', `/v1/documents/${ownDoc}/events`, undefined],
      ['DELETE', `/v1/documents/${ownDoc}`, undefined],
      ['GET', `/v1/collections/${coll}/index-versions`, undefined],
      ['POST', `/v1/collections/${coll}/index-versions`, { embedding_model: 'openai/text-embedding-3-small' }],
      ['POST', `/v1/collections/${coll}/index-versions/${current}/activate`, {}],
      ['DELETE', `/v1/collections/${coll}/index-versions/${current}`, undefined],
      ['DELETE', `/v1/collections/${coll}`, undefined],
    ] as const;
    for (const [method, path, body] of calls) {
      const writer = await call(stack.url, method, path, body, bWriter);
      expect([method, path, writer.status]).toEqual([method, path, 404]);
      const member = await call(stack.url, method, path, body, bMember);
      expect([method, path, member.status]).toEqual([method, path, method === 'GET' ? 404 : 403]);
    }
    expect((await send(bWriter, 'POST', `/v1/collections/${coll}/documents`, 'b.txt', 'from team b')).status).toBe(404);
    expect((await send(bWriter, 'PUT', `/v1/documents/${ownDoc}`, 'b.txt', 'from team b')).status).toBe(404);
    expect((await send(bMember, 'POST', `/v1/collections/${coll}/documents`, 'b.txt', 'from team b')).status).toBe(403);
    expect((await send(bMember, 'PUT', `/v1/documents/${ownDoc}`, 'b.txt', 'from team b')).status).toBe(403);
    // The owning team's members still only read.
    expect((await call(stack.url, 'DELETE', `/v1/documents/${ownDoc}`, undefined, aMember)).status).toBe(403);
    expect((await call(stack.url, 'GET', `/v1/documents/${ownDoc}`, undefined, aWriter)).status).toBe(200);
  }, 60_000);

  test('grants work as before: write-granted teams upload but do not touch index versions', async () => {
    expect((await call(stack.url, 'PUT', `/v1/collections/${coll}/grants/oa-c`, { access: 'write' }, stack.adminAuth)).status).toBe(200);
    const cDoc = await upload(cWriter, coll, 'c.txt', 'Team C adds a note about parking permits.');
    expect((await call(stack.url, 'GET', `/v1/documents/${cDoc}`, undefined, aMember)).status).toBe(200);
    expect((await call(stack.url, 'GET', `/v1/documents/${hrDoc}`, undefined, cWriter)).status).toBe(404);
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}/index-versions`, undefined, cWriter)).status).toBe(404);
    expect((await call(stack.url, 'DELETE', `/v1/collections/${coll}`, undefined, cWriter)).status).toBe(404);
    expect((await call(stack.url, 'DELETE', `/v1/documents/${cDoc}`, undefined, cWriter)).status).toBe(200);
  }, 60_000);

  test("the admin deletes another team's collection", async () => {
    const other = await call(stack.url, 'POST', '/v1/collections', { name: 'Team B scratch' }, bWriter);
    expect(other.status).toBe(201);
    expect((await call(stack.url, 'DELETE', `/v1/collections/${other.body.id}`, undefined, aWriter)).status).toBe(404);
    expect((await call(stack.url, 'DELETE', `/v1/collections/${other.body.id}`, undefined, stack.adminAuth)).status).toBe(200);
    expect((await call(stack.url, 'GET', `/v1/collections/${other.body.id}`, undefined, bWriter)).status).toBe(404);
  }, 30_000);
});
