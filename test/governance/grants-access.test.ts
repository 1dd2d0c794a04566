import { makePdf } from '../e2e/pdf-fixture.js';
import { bearer, call, sleep } from './helpers.js';
import { useQuireStack } from './quire-stack.js';

const stack = useQuireStack();

async function key(team: string, role: string, groups: string[] = []) {
  await call(stack.url, 'POST', '/v1/teams', { id: team, name: team }, stack.adminAuth);
  const r = await call(stack.url, 'POST', '/v1/keys', { team_id: team, name: `${team}-${role}-${groups.join('.')}`, role, groups }, stack.adminAuth);
  expect(r.status).toBe(201);
  return bearer(r.body.key);
}

async function post(auth: Record<string, string>, collection: string, name: string, text: string, metadata: Record<string, unknown> = {}) {
  const form = new FormData();
  form.append('file', new Blob([text], { type: 'text/plain' }), name);
  form.append('metadata', JSON.stringify(metadata));
  const res = await fetch(`${stack.url}/v1/collections/${collection}/documents`, { method: 'POST', headers: auth, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

async function upload(auth: Record<string, string>, collection: string, name: string, text: string, metadata: Record<string, unknown> = {}) {
  const res = await post(auth, collection, name, text, metadata);
  expect(res.status).toBe(202);
  const id = res.body.documents[0].id as string;
  for (let i = 0; i < 300; i++) {
    const doc = await call(stack.url, 'GET', `/v1/documents/${id}`, undefined, adminAuthFor.get(collection) ?? auth);
    if (doc.body.status === 'ready' || doc.body.status === 'failed') {
      expect(doc.body.status).toBe('ready');
      break;
    }
    await sleep(100);
  }
  return id;
}
/** The owning team's knowledge-admin per collection: it sees every document while polling. */
const adminAuthFor = new Map<string, Record<string, string>>();

async function createCollection(auth: Record<string, string>, name: string) {
  const created = await call(stack.url, 'POST', '/v1/collections', { name, embedding_model: 'openai/text-embedding-3-small', generation_model: 'openai/gpt-4o-mini' }, auth);
  expect(created.status).toBe(201);
  adminAuthFor.set(created.body.id, auth);
  return created.body.id as string;
}

const MISSING = '00000000-0000-4000-8000-000000000000';

describe('collection grants and document access', () => {
  let aAdmin: Record<string, string>, aMember: Record<string, string>, aHr: Record<string, string>;
  let bMember: Record<string, string>, bAdmin: Record<string, string>, bHr: Record<string, string>, cAdmin: Record<string, string>, dAdmin: Record<string, string>;
  let coll = '';
  let hrDoc = '';
  const openDocs: string[] = [];

  beforeAll(async () => {
    aAdmin = await key('gr-a', 'knowledge-admin');
    aMember = await key('gr-a', 'member');
    aHr = await key('gr-a', 'member', ['hr']);
    bMember = await key('gr-b', 'member');
    bAdmin = await key('gr-b', 'knowledge-admin');
    bHr = await key('gr-b', 'member', ['hr']);
    cAdmin = await key('gr-c', 'knowledge-admin');
    dAdmin = await key('gr-d', 'knowledge-admin');
    coll = await createCollection(aAdmin, 'Granted docs');
    hrDoc = await upload(aAdmin, coll, 'hr.txt', 'Salary bands policy. Salary review happens yearly.', { access_groups: ['hr'] });
    for (let i = 0; i < 3; i++) openDocs.push(await upload(aAdmin, coll, `open-${i}.txt`, `Salary advance policy ${i} for everyone. Salary questions go to payroll.`));
    expect((await call(stack.url, 'PUT', `/v1/collections/${coll}/grants/gr-b`, { access: 'read' }, stack.adminAuth)).status).toBe(200);
    expect((await call(stack.url, 'PUT', `/v1/collections/${coll}/grants/gr-c`, { access: 'write' }, stack.adminAuth)).status).toBe(200);
  }, 120_000);

  test('a read grant lets another team search, answer, multi-search and list; write needs a write grant', async () => {
    const search = await call(stack.url, 'POST', `/v1/collections/${coll}/search`, { query: 'salary policy', top_k: 3 }, bMember);
    expect(search.status).toBe(200);
    expect(search.body.results.length).toBeGreaterThan(0);
    expect(search.body.results.every((r: any) => openDocs.includes(r.document_id))).toBe(true);
    // Document-level access still applies inside a granted collection.
    const hrSearch = await call(stack.url, 'POST', `/v1/collections/${coll}/search`, { query: 'salary bands review', top_k: 10, mode: 'vector' }, bHr);
    expect(hrSearch.body.results.some((r: any) => r.document_id === hrDoc)).toBe(true);
    const multi = await call(stack.url, 'POST', '/v1/search', { collection_ids: [coll], query: 'salary', top_k: 3 }, bMember);
    expect(multi.status).toBe(200);
    expect(multi.body.results.length).toBeGreaterThan(0);
    expect((await call(stack.url, 'POST', `/v1/collections/${coll}/answer`, { question: 'What is the salary advance policy?' }, bMember)).status).toBe(200);
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}`, undefined, bMember)).status).toBe(200);
    const list = await call(stack.url, 'GET', `/v1/collections/${coll}/documents`, undefined, bMember);
    expect(list.status).toBe(200);
    expect(list.body.data.map((d: any) => d.id).sort()).toEqual([...openDocs].sort());
    expect((await call(stack.url, 'GET', '/v1/collections', undefined, bMember)).body.data.map((c: any) => c.id)).toContain(coll);
    expect((await call(stack.url, 'GET', `/v1/documents/${openDocs[0]}`, undefined, bMember)).status).toBe(200);

    // Read is not write: a knowledge-admin of the read-granted team cannot upload or delete.
    expect((await post(bAdmin, coll, 'b.txt', 'from team b')).status).toBe(404);
    expect((await call(stack.url, 'DELETE', `/v1/documents/${openDocs[0]}`, undefined, bAdmin)).status).toBe(404);
    // Nor can it change the owner's settings or index versions.
    expect((await call(stack.url, 'PUT', `/v1/collections/${coll}/search-settings`, { rerank_candidates: 10 }, bAdmin)).status).toBe(404);
    expect((await call(stack.url, 'DELETE', `/v1/collections/${coll}`, undefined, bAdmin)).status).toBe(404);

    // A write grant lets a knowledge-admin upload and delete; the document belongs to the collection.
    const cDoc = await upload(cAdmin, coll, 'c.txt', 'Team C adds a note about parking permits.');
    expect((await call(stack.url, 'GET', `/v1/documents/${cDoc}`, undefined, aMember)).status).toBe(200);
    expect((await call(stack.url, 'DELETE', `/v1/documents/${cDoc}`, undefined, cAdmin)).status).toBe(200);
    expect((await call(stack.url, 'GET', `/v1/documents/${cDoc}`, undefined, aAdmin)).status).toBe(404);
  }, 60_000);

  test('an ungranted team gets 404 exactly like a missing collection, and a revoked grant closes access', async () => {
    const cases = (id: string) =>
      [
        ['POST', `/v1/collections/${id}/search`, { query: 'salary' }],
        ['POST', `/v1/collections/${id}/answer`, { question: 'salary?' }],
        ['POST', '/v1/search', { collection_ids: [id], query: 'salary' }],
        ['GET', `/v1/collections/${id}`, undefined],
        ['GET', `/v1/collections/${id}/documents`, undefined],
      ] as const;
    const shape = (res: { status: number; body: any }) => [res.status, res.body?.error?.code, res.body?.error?.message?.replace(coll, 'ID').replace(MISSING, 'ID')];
    const ungranted = cases(coll);
    const missing = cases(MISSING);
    for (let i = 0; i < ungranted.length; i++) {
      const [method, path, body] = ungranted[i]!;
      const got = await call(stack.url, method, path, body, dAdmin);
      const want = await call(stack.url, missing[i]![0], missing[i]![1], missing[i]![2], dAdmin);
      expect([path, ...shape(got)]).toEqual([path, ...shape(want)]);
      expect(got.status).toBe(404);
      expect(JSON.stringify(got.body)).not.toMatch(/Salary|Granted docs/);
    }
    expect((await call(stack.url, 'GET', `/v1/documents/${openDocs[0]}`, undefined, dAdmin)).status).toBe(404);
    expect((await post(dAdmin, coll, 'd.txt', 'from team d')).status).toBe(404);
    expect((await call(stack.url, 'GET', '/v1/collections', undefined, dAdmin)).body.data.map((c: any) => c.id)).not.toContain(coll);

    expect((await call(stack.url, 'DELETE', `/v1/collections/${coll}/grants/gr-b`, undefined, stack.adminAuth)).status).toBe(200);
    expect((await call(stack.url, 'POST', `/v1/collections/${coll}/search`, { query: 'salary' }, bMember)).status).toBe(404);
    expect((await call(stack.url, 'POST', '/v1/search', { collection_ids: [coll], query: 'salary' }, bMember)).status).toBe(404);
    expect((await call(stack.url, 'GET', `/v1/documents/${openDocs[0]}`, undefined, bMember)).status).toBe(404);
  }, 60_000);

  test('document GET, list, counts and events honour access_groups; the owning admins see everything', async () => {
    // A member without the group: 404 for the document and its events, absent from lists and counts.
    expect((await call(stack.url, 'GET', `/v1/documents/${hrDoc}`, undefined, aMember)).status).toBe(404);
    expect((await call(stack.url, 'GET', `/v1/documents/${hrDoc}/events`, undefined, aMember)).status).toBe(404);
    const memberList = await call(stack.url, 'GET', `/v1/collections/${coll}/documents`, undefined, aMember);
    expect(memberList.body.data.map((d: any) => d.id)).not.toContain(hrDoc);
    expect(memberList.body.data).toHaveLength(openDocs.length);
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}`, undefined, aMember)).body.document_counts.ready).toBe(openDocs.length);
    const listed = (await call(stack.url, 'GET', '/v1/collections', undefined, aMember)).body.data.find((c: any) => c.id === coll);
    expect(listed.document_counts.ready).toBe(openDocs.length);
    expect(JSON.stringify(memberList.body)).not.toContain('hr.txt');

    // The group holder sees it, events included.
    expect((await call(stack.url, 'GET', `/v1/documents/${hrDoc}`, undefined, aHr)).status).toBe(200);
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}/documents`, undefined, aHr)).body.data.map((d: any) => d.id)).toContain(hrDoc);
    const events = await fetch(`${stack.url}/v1/documents/${hrDoc}/events`, { headers: aHr });
    expect(events.status).toBe(200);
    expect(await events.text()).toContain('event: done');

    // The owning team's knowledge-admin manages every document; a granted team's admin gets no bypass.
    expect((await call(stack.url, 'GET', `/v1/documents/${hrDoc}`, undefined, aAdmin)).status).toBe(200);
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}`, undefined, aAdmin)).body.document_counts.ready).toBe(openDocs.length + 1);
    expect((await call(stack.url, 'GET', `/v1/documents/${hrDoc}`, undefined, cAdmin)).status).toBe(404);
    expect((await call(stack.url, 'DELETE', `/v1/documents/${hrDoc}`, undefined, cAdmin)).status).toBe(404);
    expect((await call(stack.url, 'GET', `/v1/documents/${hrDoc}`, undefined, aAdmin)).status).toBe(200);
  }, 60_000);
});

describe('upload budget check', () => {
  test('an upload whose estimated embedding cost exceeds what is left of the budget is refused with 402 before any model call', async () => {
    const eAdmin = await key('gr-e', 'knowledge-admin');
    const coll = await createCollection(eAdmin, 'Budgeted');
    // $0.000003 a day; text-embedding-3-small costs $0.02 per million tokens.
    expect((await call(stack.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'gr-e', period: 'day', limit_usd: '0.000003' }, stack.adminAuth)).status).toBe(201);
    const embedsBefore = stack.harness.openai.requests.filter((r: any) => r.path?.includes('embeddings')).length;
    // 4000 characters = 1000 tokens = $0.00002 estimated.
    const refused = await post(eAdmin, coll, 'big.txt', 'Budget words. '.repeat(286).slice(0, 4000));
    expect(refused.status).toBe(402);
    expect(refused.body.error.code).toBe('budget_exceeded');
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}/documents`, undefined, eAdmin)).body.data).toHaveLength(0);
    expect(stack.harness.openai.requests.filter((r: any) => r.path?.includes('embeddings')).length).toBe(embedsBefore);
    const audit = await call(stack.url, 'GET', '/v1/audit?format=json&limit=50', undefined, stack.adminAuth);
    expect(JSON.stringify(audit.body)).toContain('budget_exceeded');
    // A small one fits (40 characters = 10 tokens = $0.0000002).
    await upload(eAdmin, coll, 'small.txt', 'A short note that fits in the budget ok.');
    // A PDF's text is known only after parsing: the job checks before its first embedding call and
    // fails the document with budget_exceeded, having called no model.
    // Two pages of 35 lines (~2,000 characters, ~500 tokens, ~$0.00001): more than is left.
    const page = Array.from({ length: 35 }, (_, i) => `Budget line ${i}: more words about spending limits.`);
    const pdf = await makePdf([page, page]);
    const form = new FormData();
    form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'big.pdf');
    const accepted = await fetch(`${stack.url}/v1/collections/${coll}/documents`, { method: 'POST', headers: eAdmin, body: form });
    expect(accepted.status).toBe(202);
    const pdfId = ((await accepted.json()) as any).documents[0].id as string;
    const embedsBeforePdf = stack.harness.openai.requests.filter((r: any) => r.path?.includes('embeddings')).length;
    let failed: any = {};
    for (let i = 0; i < 300 && failed.status !== 'failed' && failed.status !== 'ready'; i++) {
      failed = (await call(stack.url, 'GET', `/v1/documents/${pdfId}`, undefined, eAdmin)).body;
      await sleep(100);
    }
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('budget_exceeded');
    expect(stack.harness.openai.requests.filter((r: any) => r.path?.includes('embeddings')).length).toBe(embedsBeforePdf);
    // The check is for the services' signed identities only.
    const direct = await call(stack.url, 'POST', '/v1/internal/budget-check', { model: 'openai/text-embedding-3-small', tokens: 1 }, eAdmin);
    expect(direct.status).toBe(403);
  }, 60_000);
});
