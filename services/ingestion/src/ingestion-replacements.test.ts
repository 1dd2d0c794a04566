import { createHash } from 'node:crypto';
import { ChunkingSchema, HEADERS } from '@quire/contracts';
import type { Db } from '@quire/db';
import { gateEmbeddings } from './testing/gate-embeddings.js';
import { signIdentity } from '@quire/server-kit';
import type { ChunkDraft } from './chunk/chunk-text.js';
import { indexChunks } from './index/index-chunks.js';
import { insertDocument } from './repo/documents-repo.js';
import { TEAM_A, TEST_SECRET } from './testing/http.js';
import { storeQueuedText } from './testing/queued-document.js';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';
import { createBuildingVersion } from './versions/index-versions-repo.js';

const text = (topic: string, n = 30) => Array.from({ length: n }, (_, i) => `Paragraph ${i} of the ${topic} document explains item ${i}.`).join('\n\n');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const chunk = (s: string): ChunkDraft => ({ ordinal: 0, text: s, contentSha256: sha(s), charStart: 0, charEnd: s.length, pageStart: null, pageEnd: null, headingPath: [] });

/** Server-sent events as a list: `event`/`data`/`retry` blocks, and comments as `{ comment }`. */
function parseSse(body: string): { event?: string; data?: any; retry?: number; comment?: string }[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const out: { event?: string; data?: any; retry?: number; comment?: string } = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(': ')) out.comment = line.slice(2);
        else if (line.startsWith('event: ')) out.event = line.slice(7);
        else if (line.startsWith('data: ')) out.data = JSON.parse(line.slice(6));
        else if (line.startsWith('retry: ')) out.retry = Number(line.slice(7));
      }
      return out;
    });
}

const events = (url: string, id: string, signal?: AbortSignal) =>
  fetch(`${url}/v1/documents/${id}/events`, { headers: { [HEADERS.identity]: signIdentity(TEAM_A, TEST_SECRET) }, ...(signal ? { signal } : {}) });

describe('replacing a document', () => {
  let t: TestIngestion;
  let db: Db;
  let api: TestIngestion['api'];

  beforeAll(async () => {
    t = await startTestIngestion('ingestion-replacements', { embedConcurrencyPerProvider: 16 });
    ({ db, api } = t);
  });
  afterAll(() => t?.stop());

  const ready = async (collectionId: string, topic: string) => {
    const r = await api.call(`/v1/collections/${collectionId}/documents`, { json: { text: text(topic), title: topic } });
    return api.waitForDocument(r.body.documents[0].id as string);
  };
  const put = (id: string, body: Record<string, unknown>) => api.call(`/v1/documents/${id}`, { method: 'PUT', json: body });

  test('a replacement is one file: a PUT with several files, or none, is refused with 400 and stores nothing', async () => {
    const coll = await api.createCollection({ name: 'One file', embedding_model: 'openai/small' });
    const doc = await ready(coll.id, 'single');
    const form = new FormData();
    form.append('file', new Blob(['first version two']), 'a.txt');
    form.append('file', new Blob(['second version two']), 'b.txt');
    const two = await api.call(`/v1/documents/${doc.id}`, { method: 'PUT', form });
    expect(two.status).toBe(400);
    expect(two.body.error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/exactly one file; this upload has 2/) });
    const none = new FormData();
    none.append('title', 'no file');
    expect((await api.call(`/v1/documents/${doc.id}`, { method: 'PUT', form: none })).status).toBe(400);
    const rows = await db.query(`SELECT 1 FROM documents WHERE replaces_document_id = $1`, [doc.id]);
    expect(rows.rows).toHaveLength(0);
  });

  test('after the swap the replacement id answers 200 ready with the document now holding the content; its stream ends with done', async () => {
    const coll = await api.createCollection({ name: 'Pointer', embedding_model: 'openai/small' });
    const doc = await ready(coll.id, 'pointer-one');
    const accepted = await put(doc.id, { text: text('pointer-two', 60) });
    expect(accepted.status).toBe(202);
    const replacementId = accepted.body.documents[0].id as string;
    expect(accepted.body.documents[0]).toMatchObject({ replaces_document_id: doc.id, document_id: doc.id });

    const res = await events(t.server.url, replacementId);
    const stream = parseSse(await res.text());
    expect(stream.map((e) => e.event).filter(Boolean)).not.toContain('deleted');
    expect(stream[stream.length - 1]).toMatchObject({ event: 'done', data: { id: replacementId, status: 'ready', document_id: doc.id } });

    const res2 = await fetch(`${t.server.url}/v1/documents/${replacementId}`, { headers: { [HEADERS.identity]: signIdentity(TEAM_A, TEST_SECRET) } });
    expect(res2.status).toBe(200);
    expect(res2.headers.get('content-location')).toBe(`/v1/documents/${doc.id}`);
    expect(await res2.json()).toMatchObject({ id: replacementId, status: 'ready', document_id: doc.id });
    const now = await api.call(`/v1/documents/${doc.id}`);
    expect(now.body).toMatchObject({ status: 'ready', content_sha256: sha(text('pointer-two', 60)), replacement: null });
  });

  const putFile = (id: string, name: string, content: string, title?: string) => {
    const form = new FormData();
    form.append('file', new Blob([content], { type: 'text/plain' }), name);
    if (title !== undefined) form.append('title', title);
    return api.call(`/v1/documents/${id}`, { method: 'PUT', form });
  };
  const replacementRows = async (id: string) => (await db.query(`SELECT id FROM documents WHERE replaces_document_id = $1`, [id])).rows.length;
  const version = async (id: string) => (await db.query<{ version: number }>(`SELECT version FROM documents WHERE id = $1`, [id])).rows[0]!.version;

  test("a new version keeps the document's title unless the upload names one; a document without one takes the file's name", async () => {
    const coll = await api.createCollection({ name: 'Titles', embedding_model: 'openai/small' });
    const doc = await ready(coll.id, 'Title the admin chose');
    const swapped = async (r: { status: number; body: any }) => {
      expect(r.status).toBe(202);
      expect(await api.waitForDocument(r.body.documents[0].id as string)).toMatchObject({ status: 'ready' });
      return (await api.call(`/v1/documents/${doc.id}`)).body;
    };
    expect(await swapped(await putFile(doc.id, 'export-2024-final.txt', text('titles-two')))).toMatchObject({ title: 'Title the admin chose', filename: 'export-2024-final.txt' });
    expect(await swapped(await put(doc.id, { text: text('titles-three') }))).toMatchObject({ title: 'Title the admin chose' });
    expect(await swapped(await putFile(doc.id, 'b.txt', text('titles-four'), 'A title sent with the file'))).toMatchObject({ title: 'A title sent with the file', filename: 'b.txt' });
    expect(await swapped(await put(doc.id, { text: text('titles-five'), title: 'A title sent as JSON' }))).toMatchObject({ title: 'A title sent as JSON' });

    const untitled = await api.waitForDocument((await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text('untitled-one') } })).body.documents[0].id as string);
    expect(untitled.title).toBeNull();
    const r = await putFile(untitled.id, 'Named at last.txt', text('untitled-two'));
    await api.waitForDocument(r.body.documents[0].id as string);
    expect((await api.call(`/v1/documents/${untitled.id}`)).body).toMatchObject({ title: 'Named at last' });
  });

  test("a new version with the document's own content changes nothing; content another document holds is 409 naming it", async () => {
    const coll = await api.createCollection({ name: 'Version dedupe', embedding_model: 'openai/small' });
    const doc = await ready(coll.id, 'dedupe-own');
    const other = await ready(coll.id, 'dedupe-other');

    const same = await put(doc.id, { text: text('dedupe-own') });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ unchanged: true, replaces_document_id: doc.id, superseded_replacement_ids: [], documents: [{ id: doc.id, status: 'ready', duplicate: true, retried: false }] });
    const sameFile = await putFile(doc.id, 'own.txt', text('dedupe-own'));
    expect([sameFile.status, sameFile.body.unchanged]).toEqual([200, true]);
    expect(await replacementRows(doc.id)).toBe(0);
    expect(await version(doc.id)).toBe(1);

    const taken = await put(doc.id, { text: text('dedupe-other') });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({ code: 'conflict', param: 'file', message: expect.stringContaining(`Document ${other.id} in this collection already holds this content`) });
    expect(taken.body).toMatchObject({ reason: 'duplicate_content', document_id: other.id, content_sha256: sha(text('dedupe-other')) });
    expect(await replacementRows(doc.id)).toBe(0);

    const changed = await put(doc.id, { text: text('dedupe-new') });
    expect([changed.status, changed.body.unchanged]).toEqual([202, false]);
    expect(await api.waitForDocument(changed.body.documents[0].id as string)).toMatchObject({ status: 'ready' });
    expect((await api.call(`/v1/documents/${doc.id}`)).body).toMatchObject({ content_sha256: sha(text('dedupe-new')) });
  });

  test('the list shows documents, with a failed replacement on its document; counts agree; the failure stays until a later replacement succeeds', async () => {
    const coll = await api.createCollection({ name: 'Listing', embedding_model: 'openai/small' });
    const doc = await ready(coll.id, 'listing-one');
    // Not really a PDF: accepted, then fails to parse for good.
    const form = new FormData();
    form.append('file', new Blob(['%PDF-1.7\nnot really a pdf\n%%EOF']), 'broken.pdf');
    const bad = await api.call(`/v1/documents/${doc.id}`, { method: 'PUT', form });
    expect(bad.status).toBe(202);
    const badId = bad.body.documents[0].id as string;
    expect((await api.waitForDocument(badId)).status).toBe('failed');

    const list = await api.call(`/v1/collections/${coll.id}/documents`);
    expect(list.body.data.map((d: { id: string }) => d.id)).toEqual([doc.id]);
    expect(list.body.data[0]).toMatchObject({ status: 'ready', replacement: { id: badId, status: 'failed', error: { code: expect.any(String), message: expect.any(String) } } });
    const counts = (await api.call(`/v1/collections/${coll.id}`)).body.document_counts;
    expect(counts).toEqual({ queued: 0, processing: 0, ready: 1, failed: 0 });
    expect(Object.values(counts as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(list.body.data.length);
    // The admin can still see why.
    expect((await api.call(`/v1/documents/${badId}`)).body).toMatchObject({ status: 'failed', document_id: doc.id, error: { code: expect.any(String) } });

    const good = await put(doc.id, { text: text('listing-two') });
    const goodId = good.body.documents[0].id as string;
    expect((await api.waitForDocument(goodId)).status).toBe('ready');
    expect((await api.call(`/v1/documents/${badId}`)).status).toBe(404);
    const after = await api.call(`/v1/collections/${coll.id}/documents`);
    expect(after.body.data).toEqual([expect.objectContaining({ id: doc.id, replacement: null, content_sha256: sha(text('listing-two')) })]);
  });

  test('a swap refuses a replacement that a newer one followed, even one nobody marked superseded', async () => {
    const coll = await api.createCollection({ name: 'Swap check', embedding_model: 'openai/small' });
    const target = await storeQueuedText(db, coll.id, 'swap-target', 3);
    await db.query(`UPDATE documents SET status = 'ready', stage = 'done' WHERE id = $1`, [target.documentId]);
    // Stored straight, as a revived or not-yet-cancelled older replacement would be: nothing marks A.
    const store = (topic: string) =>
      db.transaction((tx) =>
        insertDocument(tx, { collectionId: coll.id, title: topic, filename: `${topic}.txt`, mime: 'text/plain', bytes: new TextEncoder().encode(topic), sha256: sha(topic), metadata: {}, identity: TEAM_A, traceId: topic, replacesDocumentId: target.documentId }),
      );
    const older = await store('older version');
    const newer = await store('newer version');
    await db.query(`UPDATE documents SET status = 'processing' WHERE id = ANY($1::uuid[])`, [[older.id, newer.id]]);

    // The older one finishes first, while the newer one is still pending: it must not swap.
    expect(await indexChunks(db, { documentId: older.id, collectionId: coll.id, version: 1, chunks: [chunk('from the older version')] })).toBe('superseded');
    const marked = await db.query<{ status: string; error_code: string }>(`SELECT status, error_code FROM documents WHERE id = $1`, [older.id]);
    expect(marked.rows[0]).toEqual({ status: 'failed', error_code: 'superseded' });
    // Revived meanwhile (a retry, say): after the newer one swaps in, it still cannot.
    await db.query(`UPDATE documents SET status = 'processing', version = 1, error_code = NULL WHERE id = $1`, [older.id]);
    expect(await indexChunks(db, { documentId: newer.id, collectionId: coll.id, version: 1, chunks: [chunk('from the newer version')] })).toBe('indexed');
    expect(await indexChunks(db, { documentId: older.id, collectionId: coll.id, version: 1, chunks: [chunk('from the older version')] })).toBe('superseded');
    const chunks = await db.query<{ text: string }>(`SELECT text FROM chunks WHERE document_id = $1`, [target.documentId]);
    expect(chunks.rows.map((r) => r.text)).toEqual(['from the newer version']);
  });

  test('a replacement whose document is deleted before it is stored is a 404, not a foreign-key 500', async () => {
    const coll = await api.createCollection({ name: 'Gone', embedding_model: 'openai/small' });
    const doc = await ready(coll.id, 'gone-one');
    const original = db.transaction.bind(db);
    // The document goes between the route's check and the insert.
    db.transaction = (async (fn: Parameters<Db['transaction']>[0]) => {
      db.transaction = original;
      await db.query(`DELETE FROM documents WHERE id = $1`, [doc.id]);
      return original(fn);
    }) as Db['transaction'];
    try {
      const r = await put(doc.id, { text: text('gone-two') });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('document_not_found');
    } finally {
      db.transaction = original;
    }
    expect((await db.query(`SELECT 1 FROM documents WHERE collection_id = $1`, [coll.id])).rows).toHaveLength(0);
  });

  test('activating an index version deleted mid-request is a 404, not a 500', async () => {
    const coll = await api.createCollection({ name: 'Vanishing version', embedding_model: 'openai/small' });
    const vid = await createBuildingVersion(db, { collectionId: coll.id, embeddingModel: 'openai/small', dimensions: null, chunking: ChunkingSchema.parse({}), activateOnReady: false, identity: TEAM_A });
    await db.query(`UPDATE index_versions SET status = 'ready' WHERE id = $1`, [vid]);
    const original = db.transaction.bind(db);
    db.transaction = (async (fn: Parameters<Db['transaction']>[0]) => {
      db.transaction = original;
      await db.query(`DELETE FROM index_versions WHERE id = $1`, [vid]);
      return original(fn);
    }) as Db['transaction'];
    try {
      const r = await api.call(`/v1/collections/${coll.id}/index-versions/${vid}/activate`, { json: {} });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    } finally {
      db.transaction = original;
    }
  });
});

test('the latest accepted replacement wins: an older one still running is superseded and never swaps in', async () => {
  // Its own service, so that stopping it waits for the older replacement's job to finish.
  const t = await startTestIngestion('replacement-race', { embedConcurrencyPerProvider: 16 });
  const { api, db } = t;
  const gate = gateEmbeddings(t.fake.models, ['zebra', 'yak']);
  try {
    const coll = await api.createCollection({ name: 'Race', embedding_model: 'openai/small', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } });
    const first = await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text('original') } });
    const doc = await api.waitForDocument(first.body.documents[0].id as string);

    // A (large) starts embedding and is held there.
    const a = await api.call(`/v1/documents/${doc.id}`, { method: 'PUT', json: { text: text('zebra', 80) } });
    const aId = a.body.documents[0].id as string;
    await gate.reached('zebra');
    // B (small) is accepted while A runs: A is superseded at once.
    const b = await api.call(`/v1/documents/${doc.id}`, { method: 'PUT', json: { text: text('yak', 5) } });
    expect(b.status).toBe(202);
    const bId = b.body.documents[0].id as string;
    expect(b.body.superseded_replacement_ids).toEqual([aId]);
    expect((await api.call(`/v1/documents/${aId}`)).body).toMatchObject({ status: 'failed', document_id: doc.id, error: { code: 'superseded', message: expect.stringContaining(bId) } });
    // The document shows its pending replacement; the list shows one document, as the counts do.
    await gate.reached('yak');
    expect((await api.call(`/v1/documents/${doc.id}`)).body).toMatchObject({ status: 'ready', replacement: { id: bId, status: 'processing', error: null } });
    const list = await api.call(`/v1/collections/${coll.id}/documents`);
    expect(list.body.data.map((d: { id: string }) => d.id)).toEqual([doc.id]);
    expect((await api.call(`/v1/collections/${coll.id}`)).body.document_counts).toEqual({ queued: 0, processing: 0, ready: 1, failed: 0 });

    // B finishes first, then A: A's late finish must not overwrite B.
    gate.release('yak');
    expect(await api.waitForDocument(bId)).toMatchObject({ status: 'ready', document_id: doc.id });
    gate.release('zebra');
    await t.service.stop();
    const final = await db.query<{ content_sha256: string; status: string }>(`SELECT content_sha256, status FROM documents WHERE id = $1`, [doc.id]);
    expect(final.rows[0]).toEqual({ content_sha256: sha(text('yak', 5)), status: 'ready' });
    const texts = (await db.query<{ text: string }>(`SELECT text FROM chunks WHERE document_id = $1`, [doc.id])).rows.map((r) => r.text).join(' ');
    expect(texts).toContain('yak');
    expect(texts).not.toContain('zebra');
    // The superseded row went with B's success; B's stays as the pointer.
    expect((await db.query(`SELECT id FROM documents WHERE replaces_document_id = $1`, [doc.id])).rows).toEqual([{ id: bId }]);
  } finally {
    gate.restore();
    await t.stop();
  }
});

describe('progress stream limits', () => {
  let t: TestIngestion;

  beforeAll(async () => {
    // A keep-alive every 60 ms over a 1.5 s stream: at least 3 even when a loaded machine stalls for a while.
    t = await startTestIngestion('ingestion-events-limits', { eventsPollMs: 20, eventsKeepAliveMs: 60, eventsMaxStreamMs: 1500, eventsMaxStreams: 1 });
  });
  afterAll(() => t?.stop());

  test('a stream sends keep-alives, ends after its maximum duration asking the client to reconnect, and streams are capped', async () => {
    const coll = await t.api.createCollection({ name: 'Streams', embedding_model: 'openai/small' });
    // Stored, never enqueued: it stays queued, so its stream only ends by the time limit.
    const { documentId } = await storeQueuedText(t.db, coll.id, 'waiting', 3);
    const startedAt = Date.now();
    const open = await events(t.server.url, documentId);
    expect(open.status).toBe(200);
    // At the cap: refused, with a hint when to come back.
    const refused = await events(t.server.url, documentId);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as any).error.code).toBe('service_unavailable');

    const stream = parseSse(await open.text());
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1480);
    expect(stream[0]).toMatchObject({ event: 'progress', data: { id: documentId, status: 'queued' } });
    expect(stream.filter((e) => e.comment === 'keep-alive').length).toBeGreaterThanOrEqual(3);
    expect(stream[stream.length - 1]).toEqual({ event: 'reconnect', retry: 1000, data: { id: documentId, reason: 'max_duration', retry_ms: 1000 } });

    // The ended stream freed its place; so does one the client abandons.
    const controller = new AbortController();
    const abandoned = await events(t.server.url, documentId, controller.signal);
    expect(abandoned.status).toBe(200);
    controller.abort();
    // The server notices the disconnect a moment later: refused until then, not for good.
    const deadline = Date.now() + 10_000;
    let again = await events(t.server.url, documentId);
    while (again.status === 503 && Date.now() < deadline) {
      await again.text();
      await new Promise((resolve) => setTimeout(resolve, 20));
      again = await events(t.server.url, documentId);
    }
    expect(again.status).toBe(200);
    await again.text();
  });
});
