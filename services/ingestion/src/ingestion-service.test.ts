import { HEADERS } from '@quire/contracts';
import { openTestDatabase, type Db } from '@quire/db';
import { analyze } from '@quire/keyword-index';
import { moveIntoGraph, startVersionGraph } from '@quire/index-versions';
import { ProviderError } from '@quire/models';
import { createLogger, listen, signIdentity, verifyIdentity, type RunningServer } from '@quire/server-kit';
import { createIngestionService, type IngestionService } from './ingestion-service.js';
import { createIngestDocumentHandler } from './jobs/ingest-document-handler.js';
import { createProviderLimiter } from './embed/provider-semaphore.js';
import { resolveLimits } from './limits.js';
import { createParsePool } from './parse/parse-pool.js';
import { insertDocument } from './repo/documents-repo.js';
import { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import { GUIDE_MARKDOWN, makePdf } from './testing/fixtures.js';
import { client, TEAM_A, TEAM_B, TEST_SECRET } from './testing/http.js';

const logger = createLogger({ test: 'ingestion' }, 'error');
const EMBED = 'openai/text-embedding-3-small';
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

let db: Db;
let fake: ReturnType<typeof createFakeGatewayModels>;
let service: IngestionService;
let server: RunningServer;
let api: ReturnType<typeof client>;
let embedded: { id: string };
let keywordOnly: { id: string };

beforeAll(async () => {
  db = await openTestDatabase();
  fake = createFakeGatewayModels({ dimensions: 32, maxEmbeddingsPerCall: 4 });
  service = await createIngestionService({
    db,
    models: fake.models,
    logger,
    internalSecret: TEST_SECRET,
    limits: { retryBaseDelayMs: 5, maxUploadBytes: 64 * 1024, reconcileIntervalMs: 3_600_000 },
  });
  await service.start();
  server = await listen(service.app, 0);
  api = client(server.url);
  embedded = await api.createCollection({ name: 'Handbook', embedding_model: EMBED, chunking: { strategy: 'markdown', chunk_size: 200, chunk_overlap: 20 } });
  keywordOnly = await api.createCollection({ name: 'Keywords only' });
});

afterAll(async () => {
  await server?.close();
  await service?.stop();
  await db?.close();
});

const count = async (sql: string, params: unknown[]) => (await db.query<{ n: number }>(sql, params)).rows[0]!.n;
const chunkCount = (documentId: string) => count('SELECT count(*)::int AS n FROM chunks WHERE document_id = $1', [documentId]);

describe('collections', () => {
  test('create fills defaults, makes the first index version, and refuses a duplicate name', async () => {
    const r = await api.call('/v1/collections', { json: { name: 'Defaults', embedding_model: EMBED, embedding_dimensions: 32 } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'Defaults', chunking: { strategy: 'recursive', chunk_size: 1000, chunk_overlap: 150 }, document_counts: { ready: 0 } });
    const iv = await db.query<{ embedding_model: string; dimensions: number; status: string }>(
      `SELECT iv.embedding_model, iv.dimensions, iv.status FROM collections c JOIN index_versions iv ON iv.id = c.current_index_version_id WHERE c.id = $1`,
      [r.body.id],
    );
    expect(iv.rows).toEqual([{ embedding_model: EMBED, dimensions: 32, status: 'ready' }]);
    expect((await api.call('/v1/collections', { json: { name: 'defaults' } })).body.error.code).toBe('conflict');
    // Another team may use the same name.
    expect((await api.call('/v1/collections', { json: { name: 'Defaults' }, identity: TEAM_B })).status).toBe(201);
    const list = await api.call('/v1/collections');
    expect(list.body.data.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['Handbook', 'Defaults']));
    expect(list.body.data.every((c: { name: string }) => c.name !== 'defaults')).toBe(true);
  });
});

describe('upload and indexing', () => {
  test('PDF, Markdown and text reach ready with chunks, pages, headings and vectors (no HNSW graph while small)', async () => {
    const pdf = await makePdf([
      ['Company handbook', 'Welcome. Read every chapter before your first week at work.'],
      ['Chapter 2: Equipment', 'The warranty period for company laptops is 36 months from delivery.'],
      ['Chapter 3: Travel', 'Book trains two weeks ahead. Hotels must be approved by a manager.'],
    ]);
    const r = await api.upload(
      embedded.id,
      [
        { name: 'handbook.pdf', bytes: pdf, type: 'application/pdf' },
        { name: 'guide.md', bytes: GUIDE_MARKDOWN, type: 'text/markdown' },
        { name: 'notes.txt', bytes: 'Plain notes about the office coffee machine and its weekly cleaning.', type: 'text/plain' },
      ],
      { metadata: { department: 'it', tags: ['onboarding'] } },
    );
    expect(r.status).toBe(202);
    expect(r.body.documents).toHaveLength(3);
    expect(r.body.documents.map((d: { status: string }) => d.status)).toEqual(['queued', 'queued', 'queued']);
    expect(r.body.documents.map((d: { mime_type: string }) => d.mime_type)).toEqual(['application/pdf', 'text/markdown', 'text/plain']);
    const [pdfDoc, mdDoc, txtDoc] = await Promise.all(r.body.documents.map((d: { id: string }) => api.waitForDocument(d.id)));
    for (const d of [pdfDoc, mdDoc, txtDoc]) {
      expect(d).toMatchObject({ status: 'ready', error: null, metadata: { department: 'it', tags: ['onboarding'] }, progress: { stage: 'done', attempts: 1 } });
      expect(d.progress.chunks_embedded).toBe(d.progress.chunks_total);
      expect(d.progress).toMatchObject({ embedding: 'vectors', eta_seconds: null });
    }
    expect(pdfDoc.progress).toMatchObject({ pages_total: 3, pages_parsed: 3 });
    expect(pdfDoc.title).toBe('handbook');

    const warranty = await db.query<{ page_start: number; page_end: number }>(
      `SELECT page_start, page_end FROM chunks WHERE document_id = $1 AND text LIKE '%36 months%'`,
      [pdfDoc.id],
    );
    expect(warranty.rows).toEqual([{ page_start: 2, page_end: 2 }]);
    expect(await count('SELECT max(page_end)::int AS n FROM chunks WHERE document_id = $1', [pdfDoc.id])).toBe(3);
    const md = await db.query<{ text: string; heading_path: string[] }>(`SELECT text, heading_path FROM chunks WHERE document_id = $1 ORDER BY ordinal`, [mdDoc.id]);
    expect(md.rows.find((c) => c.text.includes('Node 20 or later'))!.heading_path).toEqual(['Guide', 'Install', 'Requirements']);
    const offsets = await db.query<{ text: string; char_start: number; char_end: number }>(`SELECT text, char_start, char_end FROM chunks WHERE document_id = $1`, [mdDoc.id]);
    for (const c of offsets.rows) expect(GUIDE_MARKDOWN.slice(c.char_start, c.char_end)).toBe(c.text);

    const vectors = await db.query<{ n: number; dims: number }>(
      `SELECT count(*)::int AS n, min(vector_dims(cv.embedding))::int AS dims FROM chunk_vectors cv JOIN chunks c ON c.id = cv.chunk_id WHERE c.collection_id = $1`,
      [embedded.id],
    );
    const chunks = await count('SELECT count(*)::int AS n FROM chunks WHERE collection_id = $1', [embedded.id]);
    expect(vectors.rows[0]).toEqual({ n: chunks, dims: 32 });
    const iv = await db.query<{ id: string; dimensions: number }>(
      `SELECT iv.id, iv.dimensions FROM collections c JOIN index_versions iv ON iv.id = c.current_index_version_id WHERE c.id = $1`,
      [embedded.id],
    );
    expect(iv.rows[0]!.dimensions).toBe(32);
    // A small version has no HNSW graph: its vectors wait pending and search scans them exactly
    // (vector-graphs.test.ts covers the graph that comes once the version is large).
    const indexName = `chunk_vectors_hnsw_${iv.rows[0]!.id.replace(/-/g, '')}`;
    expect(await count('SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = $1', [indexName])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM index_versions WHERE id = $1 AND hnsw_state = 'exact'`, [iv.rows[0]!.id])).toBe(1);
    expect(await count('SELECT count(*)::int AS n FROM chunk_vectors WHERE index_version_id = $1 AND NOT graph_pending', [iv.rows[0]!.id])).toBe(0);

    // Every model call was attributed: the uploader's identity, the purpose, the document.
    const calls = fake.calls.filter((c) => c.context.documentId === mdDoc.id);
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.every((c) => c.values.length <= 4 && c.context.purpose === 'ingest-embed' && c.context.collectionId === embedded.id)).toBe(true);
    expect(verifyIdentity(calls[0]!.context.identityToken, TEST_SECRET)).toMatchObject({ team_id: 'team-a', key_id: 'key-a' });

    const counts = await api.call(`/v1/collections/${embedded.id}`);
    expect(counts.body.document_counts).toMatchObject({ ready: 3, queued: 0, processing: 0, failed: 0 });
    const page1 = await api.call(`/v1/collections/${embedded.id}/documents?limit=2`);
    expect(page1.body.data).toHaveLength(2);
    const page2 = await api.call(`/v1/collections/${embedded.id}/documents?limit=2&cursor=${page1.body.next_cursor}`);
    expect(page2.body.next_cursor).toBeNull();
    expect([...page1.body.data, ...page2.body.data].map((d: { id: string }) => d.id).sort()).toEqual([pdfDoc.id, mdDoc.id, txtDoc.id].sort());
  });

  test('a chunk that runs into later sections stores where each begins (chunks.marks)', async () => {
    const text = '# Policy\n\n## 1. Hours\n\nWork starts at nine.\n\n## 2. Leave\n\nEveryone gets 25 days.\n';
    const r = await api.call(`/v1/collections/${keywordOnly.id}/documents`, { json: { text, title: 'Policy' } });
    const doc = await api.waitForDocument(r.body.documents[0].id);
    const rows = await db.query<{ heading_path: string[]; marks: unknown }>(`SELECT heading_path, marks FROM chunks WHERE document_id = $1`, [doc.id]);
    expect(rows.rows).toEqual([{ heading_path: ['Policy', '1. Hours'], marks: [{ at: text.indexOf('## 2.'), heading_path: ['Policy', '2. Leave'] }] }]);
  });

  test('a keyword-only collection indexes JSON text without any model', async () => {
    const before = fake.calls.length;
    const r = await api.call(`/v1/collections/${keywordOnly.id}/documents`, { json: { text: '# Notes\n\nKeyword search needs no embedding provider.', title: 'Notes' } });
    expect(r.status).toBe(202);
    const doc = await api.waitForDocument(r.body.documents[0].id);
    expect(doc).toMatchObject({ status: 'ready', mime_type: 'text/markdown', title: 'Notes' });
    expect(fake.calls.length).toBe(before);
    expect(await chunkCount(doc.id)).toBeGreaterThan(0);
    // Finished, and says why no chunk counts as embedded: vectors are not part of this index.
    expect(doc.progress).toMatchObject({ stage: 'done', chunks_total: await chunkCount(doc.id), chunks_embedded: 0, embedding: 'none', eta_seconds: null });
    // The progress stream says the same as GET.
    const res = await fetch(`${server.url}/v1/documents/${doc.id}/events`, { headers: { [HEADERS.identity]: signIdentity(TEAM_A, TEST_SECRET) } });
    const events = [...(await res.text()).matchAll(/event: (\w+)\ndata: (.*)\n/g)].map((m) => ({ event: m[1]!, data: JSON.parse(m[2]!) }));
    expect(events.map((e) => e.event)).toEqual(['progress', 'done']);
    expect(events[0]!.data.progress).toEqual(doc.progress);
    expect(events[1]!.data.progress).toEqual(doc.progress);
    // Indexed for BM25: every term of the query has a posting in the document's chunk.
    const terms = analyze('embedding provider').map((t) => t.term);
    const hits = await count(
      `SELECT count(DISTINCT p.term)::int AS n FROM bm25_postings p JOIN chunks c ON c.id = p.chunk_id WHERE c.document_id = $1 AND p.term = ANY($2::text[])`,
      [doc.id, terms],
    );
    expect(hits).toBe(terms.length);
  });

  test("JSON text may say how it is written; a URL's type is its answer's, so format is refused beside it", async () => {
    const post = (json: Record<string, unknown>) => api.call(`/v1/collections/${keywordOnly.id}/documents`, { json });
    const plain = await post({ text: '# 1 is not a heading here\n\nA shell transcript, say.', format: 'text' });
    expect(plain.status).toBe(202);
    expect(await api.waitForDocument(plain.body.documents[0].id)).toMatchObject({ status: 'ready', mime_type: 'text/plain' });
    const md = await post({ text: 'Travel\n======\n\nBook trains first.', format: 'markdown' });
    expect(await api.waitForDocument(md.body.documents[0].id)).toMatchObject({ status: 'ready', mime_type: 'text/markdown' });
    const refused = await post({ url: 'https://example.com/a.md', format: 'markdown' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_request', param: 'format' });
    const bad = await post({ text: 'x', format: 'html' });
    expect(bad.status).toBe(400);
  });
});

describe('refusals', () => {
  test('unsupported type 415, empty 400, too large 413, malformed metadata 400', async () => {
    const png = await api.upload(embedded.id, [{ name: 'photo.txt', bytes: PNG }]);
    expect(png.status).toBe(415);
    expect(png.body.error).toMatchObject({ code: 'unsupported_media_type', message: expect.stringContaining('PNG') });
    const empty = await api.upload(embedded.id, [{ name: 'empty.txt', bytes: '' }]);
    expect([empty.status, empty.body.error.code]).toEqual([400, 'invalid_request']);
    const big = await api.upload(embedded.id, [{ name: 'big.txt', bytes: 'x'.repeat(70 * 1024) }]);
    expect([big.status, big.body.error.code]).toEqual([413, 'payload_too_large']);
    const form = new FormData();
    form.append('file', new Blob(['hello']), 'a.txt');
    form.append('metadata', '{not json');
    expect((await api.call(`/v1/collections/${embedded.id}/documents`, { form })).status).toBe(400);
    expect((await api.call(`/v1/collections/${embedded.id}/documents`, { json: { text: '' } })).status).toBe(400);
    // Nothing was stored for refused uploads.
    expect(await count(`SELECT count(*)::int AS n FROM documents WHERE filename IN ('photo.txt', 'empty.txt', 'big.txt', 'a.txt')`, [])).toBe(0);
  });

  test('a multi-file upload names every refused file, and stores none of the files', async () => {
    const liar = new Uint8Array([0x25, 0x50, 0xff, 0xfe, 0x00, 0x81, 0x00, 0xc3]);
    const r = await api.upload(embedded.id, [
      { name: 'ok-of-three.txt', bytes: 'a readable file' },
      { name: 'liar.pdf', bytes: liar },
      { name: 'empty-of-three.txt', bytes: '' },
    ]);
    // The first refused file's status, as when only that one was checked; the message and `files` name each.
    expect(r.status).toBe(415);
    expect(r.body.error).toMatchObject({ code: 'unsupported_media_type', param: 'file', message: expect.stringMatching(/^2 of the 3 files were refused, so none was stored: 'liar\.pdf' is neither .* 'empty-of-three\.txt' is empty\.$/) });
    expect(r.body.files).toEqual([
      { index: 1, filename: 'liar.pdf', code: 'unsupported_media_type', message: expect.stringContaining("'liar.pdf'") },
      { index: 2, filename: 'empty-of-three.txt', code: 'invalid_request', message: "'empty-of-three.txt' is empty." },
    ]);
    expect(await count(`SELECT count(*)::int AS n FROM documents WHERE filename IN ('ok-of-three.txt', 'liar.pdf', 'empty-of-three.txt')`, [])).toBe(0);
  });

  test('a missing or forged identity is 401; another team sees 404 everywhere', async () => {
    expect((await api.call('/v1/collections', { identity: null })).status).toBe(401);
    expect((await api.call('/v1/collections', { token: 'v1.e30.forged' })).body.error.code).toBe('invalid_identity');
    const doc = (await api.call(`/v1/collections/${embedded.id}/documents?limit=1`)).body.data[0];
    for (const [method, path] of [
      ['GET', `/v1/collections/${embedded.id}`],
      ['DELETE', `/v1/collections/${embedded.id}`],
      ['GET', `/v1/collections/${embedded.id}/documents`],
      ['GET', `/v1/documents/${doc.id}`],
      ['DELETE', `/v1/documents/${doc.id}`],
      ['GET', '/v1/collections/not-a-uuid'],
    ] as const) {
      expect([method, path, (await api.call(path, { method, identity: TEAM_B })).status]).toEqual([method, path, 404]);
    }
    const upload = await api.upload(embedded.id, [{ name: 'x.txt', bytes: 'hello' }], { identity: TEAM_B });
    expect(upload.body.error.code).toBe('collection_not_found');
  });
});

describe('failures and retries', () => {
  const retryable = () => new ProviderError({ code: 'provider_rate_limited', provider: 'openai', message: 'Rate limited (429).', status: 429, retryable: true });

  test('a retryable provider failure succeeds on retry without duplicate chunks', async () => {
    fake.failures.push(retryable());
    // Unseen text: identical chunks would come from the embedding cache without a provider call.
    const r = await api.upload(embedded.id, [{ name: 'retry.md', bytes: `${GUIDE_MARKDOWN}\n\nRetry marker paragraph.` }]);
    const doc = await api.waitForDocument(r.body.documents[0].id);
    expect(doc).toMatchObject({ status: 'ready', progress: { attempts: 2 } });
    const dup = await count('SELECT (count(*) - count(DISTINCT ordinal))::int AS n FROM chunks WHERE document_id = $1', [doc.id]);
    expect(dup).toBe(0);
    expect(await chunkCount(doc.id)).toBe(doc.progress.chunks_total);
  });

  test('a non-retryable failure fails at once with a clear error; exhausted retries say so', async () => {
    fake.failures.push(new ProviderError({ code: 'provider_auth_failed', provider: 'openai', message: 'The provider rejected the API key.', status: 401 }));
    const auth = await api.waitForDocument((await api.upload(embedded.id, [{ name: 'auth.txt', bytes: 'some words to embed' }])).body.documents[0].id);
    expect(auth).toMatchObject({ status: 'failed', progress: { attempts: 1 }, error: { code: 'provider_auth_failed', stage: 'embedding' } });
    expect(auth.error.message).toBe('Embedding failed: The provider rejected the API key.');

    fake.failures.push(retryable(), retryable(), retryable());
    const tired = await api.waitForDocument((await api.upload(embedded.id, [{ name: 'tired.txt', bytes: 'more words to embed' }])).body.documents[0].id);
    expect(tired).toMatchObject({ status: 'failed', progress: { attempts: 3 }, error: { code: 'provider_rate_limited', stage: 'embedding' } });
    expect(tired.error.message).toMatch(/^Embedding failed after 3 attempts: Rate limited/);
    expect(await chunkCount(tired.id)).toBe(0);
  });

  test('an unreadable PDF is a poison document: parse_failed, no retry', async () => {
    const r = await api.upload(embedded.id, [{ name: 'broken.pdf', bytes: '%PDF-1.7\nnot really a pdf\n%%EOF' }]);
    const doc = await api.waitForDocument(r.body.documents[0].id);
    expect(doc).toMatchObject({ status: 'failed', progress: { attempts: 1 }, error: { code: 'parse_failed', stage: 'parsing' } });
  });
});

describe('delivery guarantees', () => {
  const limits = resolveLimits();
  const parsePool = createParsePool({ size: 1, timeoutMs: 30_000, maxHeapMb: 256, limits: { maxPages: 100, maxChars: 1e7, maxZipEntries: 100, maxUncompressedBytes: 1e8 } });
  afterAll(() => parsePool.close());
  const handler = () =>
    createIngestDocumentHandler({ db, models: fake.models, logger, internalSecret: TEST_SECRET, limits, parsePool, limiter: createProviderLimiter(4) });
  const storeQueued = async (text: string) => {
    const bytes = new TextEncoder().encode(text);
    const view = await db.transaction((tx) =>
      insertDocument(tx, { collectionId: embedded.id, title: null, filename: 'direct.md', mime: 'text/markdown', bytes, sha256: 'x', metadata: {}, identity: TEAM_A, traceId: 'trace-direct' }),
    );
    return { documentId: view.id, collectionId: embedded.id, version: 1, identity: TEAM_A, traceId: 'trace-direct' };
  };

  test('duplicate deliveries, concurrent or late, leave one set of chunks', async () => {
    const payload = await storeQueued(GUIDE_MARKDOWN);
    const run = handler();
    const ctx = { jobId: 'dup', attempt: 1, maxAttempts: 3 };
    await Promise.all([run(payload, ctx), run(payload, ctx)]);
    const n = await chunkCount(payload.documentId);
    expect(n).toBeGreaterThan(0);
    await run(payload, ctx); // late duplicate after success
    expect(await chunkCount(payload.documentId)).toBe(n);
    expect(await count('SELECT count(*)::int AS n FROM chunk_vectors cv JOIN chunks c ON c.id = cv.chunk_id WHERE c.document_id = $1', [payload.documentId])).toBe(n);
    expect((await api.call(`/v1/documents/${payload.documentId}`)).body.status).toBe('ready');
  });

  test('a job for a deleted document does not bring it back', async () => {
    const payload = await storeQueued('Soon to be deleted.');
    expect((await api.call(`/v1/documents/${payload.documentId}`, { method: 'DELETE' })).status).toBe(200);
    await handler()(payload, { jobId: 'gone', attempt: 1, maxAttempts: 3 });
    expect(await count('SELECT count(*)::int AS n FROM documents WHERE id = $1', [payload.documentId])).toBe(0);
    expect(await chunkCount(payload.documentId)).toBe(0);
  });

  test('the reconciler picks up a document left queued in the database', async () => {
    const payload = await storeQueued('# Left behind\n\nA crash happened before this was enqueued.');
    expect(await service.reconcile()).toBeGreaterThanOrEqual(1);
    const doc = await api.waitForDocument(payload.documentId);
    expect(doc.status).toBe('ready');
  });

  test('a stalled document is taken over under a new version, fencing out the old job', async () => {
    const payload = await storeQueued('# Stalled\n\nThe worker for this one died mid-way.');
    await db.query(`UPDATE documents SET status = 'processing', heartbeat_at = now() - interval '1 hour', updated_at = now() - interval '1 hour' WHERE id = $1`, [payload.documentId]);
    await service.reconcile();
    const doc = await api.waitForDocument(payload.documentId);
    expect(doc).toMatchObject({ status: 'ready', job_id: `${payload.documentId}-v2` });
    const n = await chunkCount(payload.documentId);
    await handler()(payload, { jobId: 'zombie', attempt: 1, maxAttempts: 3 }); // the old v1 job wakes up
    expect(await chunkCount(payload.documentId)).toBe(n);
  });

  test('deleting a collection removes its chunks, vectors and HNSW index', async () => {
    const c = await api.createCollection({ name: 'Temporary', embedding_model: EMBED });
    const r = await api.call(`/v1/collections/${c.id}/documents`, { json: { text: 'Temporary text for a temporary collection.' } });
    await api.waitForDocument(r.body.documents[0].id);
    const iv = (await db.query<{ id: string }>('SELECT current_index_version_id AS id FROM collections WHERE id = $1', [c.id])).rows[0]!.id;
    // What the background task does once a version is large enough: a graph, filled a slice at a time.
    expect(await db.transaction((tx) => startVersionGraph(tx, iv))).toBe('started');
    expect(await db.transaction((tx) => moveIntoGraph(tx, iv, 100))).toBeGreaterThan(0);
    const name = `chunk_vectors_hnsw_${iv.replace(/-/g, '')}`;
    expect(await count('SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = $1', [name])).toBe(1);
    expect((await api.call(`/v1/collections/${c.id}`, { method: 'DELETE' })).status).toBe(200);
    expect(await count('SELECT count(*)::int AS n FROM chunks WHERE collection_id = $1', [c.id])).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = $1', [name])).toBe(0);
    expect((await api.call(`/v1/collections/${c.id}`)).status).toBe(404);
  });
});
