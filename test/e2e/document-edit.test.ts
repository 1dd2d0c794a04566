import { call, teamKey, uploadText } from '../governance/helpers.js';
import { useQuireStack } from '../governance/quire-stack.js';

/**
 * Through the gateway: `PATCH /v1/documents/:id` reaches ingestion for the roles that change documents,
 * and search filters on the new metadata (and hides by its `access_groups`) with the next query, no
 * re-upload; the document list's and collection list's parameters pass through and are checked.
 */
const stack = useQuireStack();

const EMBEDDING = 'openai/text-embedding-3-small';

describe('describing a document after it was uploaded', () => {
  let writer: Record<string, string>, member: Record<string, string>;
  let coll = '';
  let doc = '';

  beforeAll(async () => {
    writer = (await teamKey(stack.url, 'de-a', 'knowledge-admin', {}, stack.adminAuth)).auth;
    member = (await teamKey(stack.url, 'de-a', 'member', {}, stack.adminAuth)).auth;
    const created = await call(stack.url, 'POST', '/v1/collections', { name: 'Edited', embedding_model: EMBEDDING }, writer);
    expect(created.status).toBe(201);
    coll = created.body.id;
    doc = await uploadText(stack.url, writer, coll, 'warranty.txt', 'Laptop warranty. The laptop warranty lasts 36 months from delivery.', { tags: ['draft'] });
  }, 120_000);

  const search = (filters: Record<string, unknown>, auth = writer) =>
    call(stack.url, 'POST', `/v1/collections/${coll}/search`, { query: 'laptop warranty', mode: 'keyword', filters }, auth);
  const found = async (filters: Record<string, unknown>, auth = writer) => {
    const r = await search(filters, auth);
    expect(r.status).toBe(200);
    return r.body.results.map((hit: { document_id: string }) => hit.document_id);
  };

  test('a knowledge-admin changes title and metadata, and the next search filters on them', async () => {
    expect(await found({ tags: ['draft'] })).toContain(doc);
    expect(await found({ tags: ['hardware'] })).toEqual([]);

    const changed = await call(stack.url, 'PATCH', `/v1/documents/${doc}`, { title: 'Laptop warranty', metadata: { tags: ['hardware'], region: 'eu' } }, writer);
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: doc, title: 'Laptop warranty', metadata: { tags: ['hardware'], region: 'eu' } });

    expect(await found({ tags: ['hardware'] })).toContain(doc);
    expect(await found({ tags: ['draft'] })).toEqual([]);
    expect(await found({ metadata: { region: 'eu' } })).toContain(doc);
    const hit = (await search({ tags: ['hardware'] })).body.results[0];
    expect(hit.document_title).toBe('Laptop warranty');
  });

  test('access_groups set by a PATCH hide the document from the next search of a member outside them', async () => {
    expect(await found({}, member)).toContain(doc);
    expect((await call(stack.url, 'PATCH', `/v1/documents/${doc}`, { metadata: { tags: ['hardware'], access_groups: ['it'] } }, writer)).status).toBe(200);
    expect(await found({}, member)).toEqual([]);
    expect((await call(stack.url, 'PATCH', `/v1/documents/${doc}`, { metadata: { tags: ['hardware'] } }, writer)).status).toBe(200);
    expect(await found({}, member)).toContain(doc);
  });

  test('a member is refused at the gateway; a bad body is ingestion\'s 400, passed on', async () => {
    const denied = await call(stack.url, 'PATCH', `/v1/documents/${doc}`, { title: 'no' }, member);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('collection_write_denied');
    const bad = await call(stack.url, 'PATCH', `/v1/documents/${doc}`, { title: 'x', tags: ['no'] }, writer);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', param: 'tags' });
    expect((await call(stack.url, 'GET', `/v1/documents/${doc}`, undefined, writer)).body.title).toBe('Laptop warranty');
  });

  test('list parameters pass through the gateway and are checked', async () => {
    const listed = await call(stack.url, 'GET', `/v1/collections/${coll}/documents?status=ready&tag=hardware&name=laptop`, undefined, member);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((d: { id: string }) => d.id)).toEqual([doc]);
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}/documents?status=failed`, undefined, member)).body.data).toEqual([]);
    const bogus = await call(stack.url, 'GET', `/v1/collections/${coll}/documents?status=bogus`, undefined, member);
    expect([bogus.status, bogus.body.error.param]).toEqual([400, 'status']);
    const collections = await call(stack.url, 'GET', '/v1/collections?limit=1&name=edit', undefined, member);
    expect(collections.status).toBe(200);
    expect(collections.body.data.map((c: { id: string }) => c.id)).toEqual([coll]);
    expect(collections.body.data[0].replacement_counts).toEqual({ queued: 0, processing: 0, failed: 0 });
    const unknown = await call(stack.url, 'GET', '/v1/collections?foo=bar', undefined, member);
    expect([unknown.status, unknown.body.error.param]).toEqual([400, 'foo']);
  });
});
