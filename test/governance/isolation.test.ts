import { bearer, call, uploadText } from './helpers.js';
import { useQuireStack } from './quire-stack.js';

const stack = useQuireStack();

async function key(team: string, role: string, groups: string[] = []) {
  await call(stack.url, 'POST', '/v1/teams', { id: team, name: team }, stack.adminAuth);
  const r = await call(stack.url, 'POST', '/v1/keys', { team_id: team, name: `${team}-${role}`, role, groups }, stack.adminAuth);
  return bearer(r.body.key);
}

const upload = (auth: Record<string, string>, collection: string, name: string, text: string, metadata: Record<string, unknown> = {}) =>
  uploadText(stack.url, auth, collection, name, text, metadata);

describe('team isolation and document-level access', () => {
  let aAdmin: Record<string, string>, aMember: Record<string, string>, aHr: Record<string, string>, bAdmin: Record<string, string>, bMember: Record<string, string>;
  let coll = '';
  const hrDocs: string[] = [];
  const openDocs: string[] = [];

  beforeAll(async () => {
    [aAdmin, aMember, aHr, bAdmin, bMember] = [await key('iso-a', 'knowledge-admin'), await key('iso-a', 'member'), await key('iso-a', 'member', ['hr']), await key('iso-b', 'knowledge-admin'), await key('iso-b', 'member')];
    const created = await call(stack.url, 'POST', '/v1/collections', { name: 'A docs', embedding_model: 'openai/text-embedding-3-small', generation_model: 'openai/gpt-4o-mini' }, aAdmin);
    expect(created.status).toBe(201);
    coll = created.body.id;
    for (let i = 0; i < 6; i++) hrDocs.push(await upload(aAdmin, coll, `hr-${i}.txt`, `Salary bands policy number ${i}. Salary review happens yearly.`, { access_groups: ['hr'] }));
    for (let i = 0; i < 6; i++) openDocs.push(await upload(aAdmin, coll, `open-${i}.txt`, `Salary advance policy ${i} for everyone. Salary questions go to payroll.`));
  }, 120_000);

  test("team B never sees team A's collection, documents, chunks or queries", async () => {
    const search = await call(stack.url, 'POST', `/v1/collections/${coll}/search`, { query: 'salary', top_k: 5 }, aMember);
    expect(search.status).toBe(200);
    const missing = await call(stack.url, 'GET', `/v1/collections/${'0'.repeat(8)}-0000-4000-8000-000000000000`, undefined, bAdmin);
    for (const [method, path, body] of [
      ['GET', `/v1/collections/${coll}`, undefined],
      ['GET', `/v1/collections/${coll}/documents`, undefined],
      ['GET', `/v1/documents/${openDocs[0]}`, undefined],
      ['POST', `/v1/collections/${coll}/search`, { query: 'salary' }],
      ['POST', `/v1/collections/${coll}/answer`, { question: 'salary?' }],
      ['GET', `/v1/queries/${search.body.query_id}`, undefined],
      ['DELETE', `/v1/documents/${openDocs[0]}`, undefined],
    ] as const) {
      const res = await call(stack.url, method, path, body, bAdmin);
      // Exactly like an id that does not exist.
      expect([path, res.status]).toEqual([path, 404]);
      expect(JSON.stringify(res.body)).not.toMatch(/Salary|A docs/);
    }
    expect(missing.status).toBe(404);
    // The OpenAI-compatible door: a kb/<collection> model of another team is as absent as a made-up one.
    const kbOther = await call(stack.url, 'POST', '/v1/chat/completions', { model: `kb/${coll}`, messages: [{ role: 'user', content: 'salary?' }] }, bAdmin);
    const kbMissing = await call(stack.url, 'POST', '/v1/chat/completions', { model: 'kb/00000000-0000-4000-8000-000000000000', messages: [{ role: 'user', content: 'salary?' }] }, bAdmin);
    expect([kbOther.status, kbMissing.status]).toEqual([404, 404]);
    expect(kbOther.body.error.code).toBe(kbMissing.body.error.code);
    expect(JSON.stringify(kbOther.body)).not.toMatch(/Salary|A docs/);
    const own = await call(stack.url, 'POST', '/v1/chat/completions', { model: `kb/${coll}`, messages: [{ role: 'user', content: 'salary?' }] }, aMember);
    expect(own.status).toBe(200);
    // Multi-collection search never reaches into another team's collection either.
    const multi = await call(stack.url, 'POST', '/v1/search', { collection_ids: [coll], query: 'salary' }, bAdmin);
    expect(multi.status).toBe(404);
    expect(JSON.stringify(multi.body)).not.toMatch(/Salary/);
    const list = await call(stack.url, 'GET', '/v1/collections', undefined, bMember);
    expect(JSON.stringify(list.body)).not.toContain(coll);
    const usage = await call(stack.url, 'GET', '/v1/usage?group_by=team', undefined, bMember);
    expect(usage.body.data.every((r: any) => r.team === 'iso-b')).toBe(true);
    expect((await call(stack.url, 'GET', '/v1/usage?team=iso-a', undefined, bMember)).status).toBe(403);
    // Members query but do not write.
    expect((await call(stack.url, 'DELETE', `/v1/documents/${openDocs[0]}`, undefined, aMember)).body.error.code).toBe('collection_write_denied');
  });

  test('a search fills top_k with permitted chunks only; the group holder sees the restricted ones', async () => {
    for (const mode of ['vector', 'hybrid'] as const) {
      const plain = await call(stack.url, 'POST', `/v1/collections/${coll}/search`, { query: 'salary policy', top_k: 5, mode }, aMember);
      expect(plain.status).toBe(200);
      expect(plain.body.results).toHaveLength(5);
      expect(plain.body.results.every((r: any) => openDocs.includes(r.document_id))).toBe(true);
      expect(JSON.stringify(plain.body)).not.toContain('Salary bands');
    }
    const hr = await call(stack.url, 'POST', `/v1/collections/${coll}/search`, { query: 'salary bands review', top_k: 12, mode: 'vector' }, aHr);
    expect(hr.body.results).toHaveLength(12);
    expect(hr.body.results.some((r: any) => hrDocs.includes(r.document_id))).toBe(true);
    const answer = await call(stack.url, 'POST', `/v1/collections/${coll}/answer`, { question: 'What are the salary bands?', top_k: 5 }, aMember);
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.body.citations ?? [])).not.toContain('Salary bands');
  });
});
