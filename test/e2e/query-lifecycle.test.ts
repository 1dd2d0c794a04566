import { call, teamKey } from '../governance/helpers.js';
import { AUTH, startHarness, waitForDocument, type Harness } from './quire-harness.js';

/**
 * Stored queries and conversations through the gateway: deleted by their asker (and not by a
 * teammate), redacted when ingestion deletes or replaces a document they quote, and gone with their
 * collection.
 */
let h: Harness;
let url: string;
let asker: Record<string, string>;
let mate: Record<string, string>;
let writer: Record<string, string>;
const WARRANTY = 'Equipment. The warranty period for company laptops is 36 months from delivery.';

async function collectionWith(text: string): Promise<{ collectionId: string; documentId: string }> {
  const created = await call(url, 'POST', '/v1/collections', { name: `lifecycle ${Math.random()}`, embedding_model: 'openai/text-embedding-3-small', generation_model: 'openai/gpt-4o-mini' }, writer);
  expect(created.status).toBe(201);
  const documentId = await upload('POST', `/v1/collections/${created.body.id}/documents`, text);
  return { collectionId: created.body.id as string, documentId };
}

async function upload(method: 'POST' | 'PUT', path: string, text: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([text], { type: 'text/plain' }), 'handbook.txt');
  const res = await fetch(`${url}${path}`, { method, headers: writer, body: form });
  expect(res.status).toBe(202);
  const id = ((await res.json()) as { documents: { id: string }[] }).documents[0]!.id;
  expect((await waitForDocument(url, id)).status).toBe('ready');
  return id;
}

const ask = (collectionId: string, conversationId?: string) =>
  call(url, 'POST', `/v1/collections/${collectionId}/answer`, { question: 'How long is the laptop warranty?', ...(conversationId ? { conversation_id: conversationId } : {}) }, asker);

const turnsOf = async (queryId: string) => Number((await h.quire.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM conversation_turns WHERE query_id = $1`, [queryId])).rows[0]!.n);

beforeAll(async () => {
  h = await startHarness({ redis: false });
  url = h.quire.url;
  writer = (await teamKey(url, 'lifecycle', 'knowledge-admin', {}, AUTH)).auth;
  asker = (await teamKey(url, 'lifecycle', 'member', {}, AUTH)).auth;
  mate = (await teamKey(url, 'lifecycle', 'member', {}, AUTH)).auth;
}, 90_000);
afterAll(async () => {
  await h?.stop();
});

test('a member deletes their own query and conversation through the gateway; a teammate gets 404', async () => {
  const { collectionId } = await collectionWith(WARRANTY);
  const first = await ask(collectionId);
  expect(first.status).toBe(200);
  const queryId = first.body.query_id as string;
  expect((await call(url, 'DELETE', `/v1/queries/${queryId}`, undefined, mate)).status).toBe(404);
  expect((await call(url, 'DELETE', `/v1/conversations/${first.body.conversation_id}`, undefined, mate)).status).toBe(404);

  expect((await call(url, 'DELETE', `/v1/conversations/${first.body.conversation_id}`, undefined, asker)).body).toMatchObject({ object: 'conversation', deleted: true });
  expect((await call(url, 'DELETE', `/v1/queries/${queryId}`, undefined, asker)).body).toMatchObject({ id: queryId, object: 'query', deleted: true });
  expect((await call(url, 'GET', `/v1/queries/${queryId}`, undefined, asker)).status).toBe(404);
  // A knowledge admin of the team may delete a member's query.
  const second = await ask(collectionId);
  expect((await call(url, 'DELETE', `/v1/queries/${second.body.query_id}`, undefined, writer)).status).toBe(200);
}, 60_000);

test('replacing a document redacts the stored answers and quotes of its old version, for the team and the asker', async () => {
  const { collectionId, documentId } = await collectionWith(WARRANTY);
  const asked = await ask(collectionId);
  const queryId = asked.body.query_id as string;
  expect((await call(url, 'GET', `/v1/queries/${queryId}`, undefined, mate)).body.citations[0].quote).toContain('36 months');
  expect(await turnsOf(queryId)).toBe(2);

  await upload('PUT', `/v1/documents/${documentId}`, 'Equipment. The warranty period for company laptops is 24 months from delivery.');
  for (const who of [mate, asker]) {
    const read = await call(url, 'GET', `/v1/queries/${queryId}`, undefined, who);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.body)).not.toContain('36 months');
    expect(read.body.redacted_at).toEqual(expect.any(String));
  }
  expect(await turnsOf(queryId)).toBe(0);
  // The conversation goes on, without the old answer.
  expect((await ask(collectionId, asked.body.conversation_id)).status).toBe(200);
}, 60_000);

test('deleting a document redacts the stored answers that quote it, also for the asker', async () => {
  const { collectionId, documentId } = await collectionWith(WARRANTY);
  const queryId = (await ask(collectionId)).body.query_id as string;
  expect((await call(url, 'DELETE', `/v1/documents/${documentId}`, undefined, writer)).status).toBe(200);
  const read = await call(url, 'GET', `/v1/queries/${queryId}`, undefined, asker);
  expect(read.status).toBe(200);
  expect(JSON.stringify(read.body)).not.toContain('36 months');
  expect(read.body.answer).toBeNull();
  expect(await turnsOf(queryId)).toBe(0);
}, 60_000);

test("deleting a collection deletes its queries and conversations, so not even the asker reads them", async () => {
  const { collectionId } = await collectionWith(WARRANTY);
  const asked = await ask(collectionId);
  expect((await call(url, 'DELETE', `/v1/collections/${collectionId}`, undefined, writer)).status).toBe(200);
  expect((await call(url, 'GET', `/v1/queries/${asked.body.query_id}`, undefined, asker)).status).toBe(404);
  const left = await h.quire.db.query(`SELECT 1 FROM queries WHERE $1 = ANY(collection_ids) UNION ALL SELECT 1 FROM conversations WHERE id = $2`, [collectionId, asked.body.conversation_id]);
  expect(left.rows).toEqual([]);
}, 60_000);
