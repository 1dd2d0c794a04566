import { createHash } from 'node:crypto';
import { ProviderError } from '@quire/models';
import { TEAM_A, TEAM_B } from '../testing/http.js';
import { startTestIngestion, type TestIngestion } from '../testing/test-ingestion.js';

/**
 * The embedding cache is per team (a hit, which makes no provider call, must not tell a team that
 * another team embedded the same text), and text that leaves the database takes its cached vectors
 * with it unless the team still holds it elsewhere.
 */
let t: TestIngestion;
beforeAll(async () => {
  t = await startTestIngestion('embedding-cache');
});
afterAll(async () => {
  await t?.stop();
});

const text = (topic: string, n = 12) => Array.from({ length: n }, (_, i) => `Paragraph ${i} of the ${topic} notes covers point ${i}.`).join('\n\n');
const chunking = { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 };

async function ingest(collectionId: string, body: string, identity = TEAM_A): Promise<string> {
  const r = await t.api.call(`/v1/collections/${collectionId}/documents`, { json: { text: body, title: 'Notes' }, identity });
  expect(r.status).toBe(202);
  const doc = await t.api.waitForDocument(r.body.documents[0].id);
  expect(doc.status).toBe('ready');
  return doc.id as string;
}

const hashesOf = async (documentId: string) => (await t.db.query<{ h: string }>(`SELECT DISTINCT content_sha256 AS h FROM chunks WHERE document_id = $1`, [documentId])).rows.map((r) => r.h);

/** Cached vectors of these texts, per team. */
async function cachedByTeam(hashes: string[]): Promise<Record<string, number>> {
  const r = await t.db.query<{ team_id: string; n: number }>(`SELECT team_id, count(*)::int AS n FROM embedding_cache WHERE content_sha256 = ANY($1::text[]) GROUP BY team_id`, [hashes]);
  return Object.fromEntries(r.rows.map((row) => [row.team_id, row.n]));
}

test('a team is served only from vectors it paid for; a delete takes the vectors no chunk of their team holds any more', async () => {
  const body = text('lighthouse');
  const a1 = await t.api.createCollection({ name: 'cache a1', embedding_model: 'openai/small', chunking });
  const a2 = await t.api.createCollection({ name: 'cache a2', embedding_model: 'openai/small', chunking });
  const b = await t.api.createCollection({ name: 'cache b', embedding_model: 'openai/small', chunking }, TEAM_B);

  const inA1 = await ingest(a1.id, body);
  const hashes = await hashesOf(inA1);
  expect(hashes.length).toBeGreaterThan(1);
  // The same text in another team's collection is embedded (and billed) again: no hit says it was seen.
  let calls = t.fake.calls.length;
  const inB = await ingest(b.id, body, TEAM_B);
  expect(t.fake.calls.length).toBeGreaterThan(calls);
  // In the same team's other collection it is not: the team paid for these vectors already.
  calls = t.fake.calls.length;
  const inA2 = await ingest(a2.id, body);
  expect(t.fake.calls.length).toBe(calls);
  expect(await cachedByTeam(hashes)).toEqual({ [TEAM_A.team_id]: hashes.length, [TEAM_B.team_id]: hashes.length });

  // Team A still holds the text in its other collection, and B in its own: nothing goes.
  expect((await t.api.call(`/v1/documents/${inA1}`, { method: 'DELETE' })).status).toBe(200);
  expect(await cachedByTeam(hashes)).toEqual({ [TEAM_A.team_id]: hashes.length, [TEAM_B.team_id]: hashes.length });
  // A's last copy goes, and its vectors with it; B's stay.
  expect((await t.api.call(`/v1/documents/${inA2}`, { method: 'DELETE' })).status).toBe(200);
  expect(await cachedByTeam(hashes)).toEqual({ [TEAM_B.team_id]: hashes.length });
  // A collection delete takes its text's vectors too.
  expect(inB).toBeTruthy();
  expect((await t.api.call(`/v1/collections/${b.id}`, { method: 'DELETE', identity: TEAM_B })).status).toBe(200);
  expect(await cachedByTeam(hashes)).toEqual({});

  // Ingesting the text again after it left costs a provider call again: its vectors really went.
  calls = t.fake.calls.length;
  await ingest(a1.id, body);
  expect(t.fake.calls.length).toBeGreaterThan(calls);
});

test('a replacement takes the vectors of the text it replaced, and keeps those of the text it shares', async () => {
  const coll = await t.api.createCollection({ name: 'cache replace', embedding_model: 'openai/small', chunking });
  const shared = text('shared', 4);
  const id = await ingest(coll.id, `${shared}\n\n${text('harbour')}`);
  const before = await hashesOf(id);
  const put = await t.api.call(`/v1/documents/${id}`, { method: 'PUT', json: { text: `${shared}\n\n${text('garden')}` } });
  expect(put.status).toBe(202);
  expect((await t.api.waitForDocument(put.body.documents[0].id)).status).toBe('ready');
  const after = await hashesOf(id);
  const kept = before.filter((h) => after.includes(h));
  const left = before.filter((h) => !after.includes(h));
  expect(kept.length).toBeGreaterThan(0);
  expect(left.length).toBeGreaterThan(0);
  expect(await cachedByTeam(left)).toEqual({});
  expect(await cachedByTeam(after)).toEqual({ [TEAM_A.team_id]: after.length });
});

/**
 * The provider answers the next `calls` embedding calls and then fails for good (no retry helps), so a
 * job caches its first batches and fails with no chunks. Returns the undo.
 */
function failAfter(calls: number): () => void {
  const original = t.fake.models.embeddingModel;
  let n = 0;
  t.fake.models.embeddingModel = (name, context) => {
    const model = original(name, context);
    return {
      ...model,
      async doEmbed(options) {
        if (n++ >= calls) throw new ProviderError({ code: 'provider_auth_failed', provider: 'openai', message: 'The provider rejected the API key.', status: 401 });
        return model.doEmbed(options);
      },
    };
  };
  return () => {
    t.fake.models.embeddingModel = original;
  };
}

/** Uploads `body` while the provider fails after `calls` calls; the failed document and the hashes of the texts it had embedded (and cached). */
async function failedUpload(collectionId: string, body: string, calls: number): Promise<{ id: string; cached: string[] }> {
  const before = t.fake.calls.length;
  const restore = failAfter(calls);
  try {
    const r = await t.api.call(`/v1/collections/${collectionId}/documents`, { json: { text: body, title: 'Notes' } });
    expect(r.status).toBe(202);
    const doc = await t.api.waitForDocument(r.body.documents[0].id);
    expect(doc).toMatchObject({ status: 'failed', error: { code: 'provider_auth_failed' } });
    return { id: doc.id, cached: t.fake.calls.slice(before).flatMap((c) => c.values.map(sha256)) };
  } finally {
    restore();
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

test('deleting a document that failed after some of its vectors were cached takes them, once no live document of the team uses them', async () => {
  const body = text('windmill', 40);
  const c1 = await t.api.createCollection({ name: 'cache failed 1', embedding_model: 'openai/small', chunking });
  const c2 = await t.api.createCollection({ name: 'cache failed 2', embedding_model: 'openai/small', chunking });
  const first = await failedUpload(c1.id, body, 1);
  expect(first.cached.length).toBeGreaterThan(0);
  expect(await cachedByTeam(first.cached)).toEqual({ [TEAM_A.team_id]: first.cached.length });
  // The same text fails in another collection of the team too, after reading the first one's vectors.
  const second = await failedUpload(c2.id, body, 0);
  expect(second.cached).toEqual([]);

  // The second failed document still uses the vectors (a retry reads them instead of paying again).
  expect((await t.api.call(`/v1/documents/${first.id}`, { method: 'DELETE' })).status).toBe(200);
  expect(await cachedByTeam(first.cached)).toEqual({ [TEAM_A.team_id]: first.cached.length });
  // Its delete takes them: no chunk and no live document of the team holds the text any more.
  expect((await t.api.call(`/v1/documents/${second.id}`, { method: 'DELETE' })).status).toBe(200);
  expect(await cachedByTeam(first.cached)).toEqual({});
  expect((await t.db.query(`SELECT 1 FROM embedding_cache_uses WHERE document_id = ANY($1::uuid[])`, [[first.id, second.id]])).rows).toEqual([]);
});

test("a collection delete takes the vectors its failed documents cached", async () => {
  const coll = await t.api.createCollection({ name: 'cache failed coll', embedding_model: 'openai/small', chunking });
  const failed = await failedUpload(coll.id, text('quarry', 40), 1);
  expect(await cachedByTeam(failed.cached)).toEqual({ [TEAM_A.team_id]: failed.cached.length });
  expect((await t.api.call(`/v1/collections/${coll.id}`, { method: 'DELETE' })).status).toBe(200);
  expect(await cachedByTeam(failed.cached)).toEqual({});
});

test("a failed replacement that a later one settles, or its document's delete, takes the vectors it cached; an indexed document keeps no uses", async () => {
  const coll = await t.api.createCollection({ name: 'cache failed replace', embedding_model: 'openai/small', chunking });
  const id = await ingest(coll.id, text('orchard'));
  expect((await t.db.query(`SELECT 1 FROM embedding_cache_uses WHERE document_id = $1`, [id])).rows).toEqual([]);
  const replaceFailing = async (body: string) => {
    const before = t.fake.calls.length;
    const restore = failAfter(1);
    try {
      const put = await t.api.call(`/v1/documents/${id}`, { method: 'PUT', json: { text: body } });
      expect(put.status).toBe(202);
      expect(await t.api.waitForDocument(put.body.documents[0].id)).toMatchObject({ status: 'failed' });
      return t.fake.calls.slice(before).flatMap((c) => c.values.map(sha256));
    } finally {
      restore();
    }
  };
  const meadow = await replaceFailing(text('meadow', 40));
  expect(await cachedByTeam(meadow)).toEqual({ [TEAM_A.team_id]: meadow.length });
  // A later replacement succeeds: the failed one is settled (deleted), and what it cached for nothing goes.
  const put = await t.api.call(`/v1/documents/${id}`, { method: 'PUT', json: { text: text('harvest') } });
  expect((await t.api.waitForDocument(put.body.documents[0].id)).status).toBe('ready');
  expect(await cachedByTeam(meadow)).toEqual({});
  expect(await cachedByTeam(await hashesOf(id))).toEqual({ [TEAM_A.team_id]: (await hashesOf(id)).length });
  expect((await t.db.query(`SELECT 1 FROM embedding_cache_uses WHERE document_id IN (SELECT id FROM documents WHERE id = $1 OR replaces_document_id = $1)`, [id])).rows).toEqual([]);

  // One that failed and is still pending when its document is deleted goes with it.
  const pasture = await replaceFailing(text('pasture', 40));
  expect(await cachedByTeam(pasture)).toEqual({ [TEAM_A.team_id]: pasture.length });
  expect((await t.api.call(`/v1/documents/${id}`, { method: 'DELETE' })).status).toBe(200);
  expect(await cachedByTeam(pasture)).toEqual({});
});
