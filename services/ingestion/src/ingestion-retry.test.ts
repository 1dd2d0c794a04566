import { ProviderError } from '@quire/models';
import { AppError } from '@quire/server-kit';
import type { Identity } from '@quire/contracts';
import { makeTwoColumnPdf } from './testing/fixtures.js';
import { gateEmbeddings } from './testing/gate-embeddings.js';
import { TEAM_B } from './testing/http.js';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';

/** `POST /v1/documents/:id/retry`: a failed document runs again from its stored bytes. */
let t: TestIngestion;
let collectionId: string;

beforeAll(async () => {
  t = await startTestIngestion('ingestion-retry');
  collectionId = (await t.api.createCollection({ name: 'Retry', embedding_model: 'openai/small' })).id;
});

afterAll(async () => {
  await t?.stop();
});

const text = (topic: string, n = 30) => Array.from({ length: n }, (_, i) => `Paragraph ${i} of the ${topic} document explains item ${i}.`).join('\n\n');
/** A provider failure that no retry fixes (until the test says the provider has recovered). */
const failForGood = () => t.fake.failures.push(new ProviderError({ code: 'provider_auth_failed', provider: 'openai', message: 'The provider rejected the API key.', status: 401 }));
const retry = (id: string, identity?: Identity) => t.api.call(`/v1/documents/${id}/retry`, { method: 'POST', ...(identity ? { identity } : {}) });
const counts = async (id = collectionId) => (await t.api.call(`/v1/collections/${id}`)).body.document_counts;

async function failedDocument(topic: string, collection = collectionId, identity?: Identity): Promise<string> {
  failForGood();
  const r = await t.api.upload(collection, [{ name: `${topic}.txt`, bytes: text(topic), type: 'text/plain' }], identity ? { identity } : {});
  expect(r.status).toBe(202);
  const doc = await t.api.waitForDocument(r.body.documents[0].id);
  expect(doc).toMatchObject({ status: 'failed', error: { code: 'provider_auth_failed' } });
  return doc.id;
}

/** PUTs `topic`'s text over `documentId` with the provider failing for good; the replacement's id once it has failed. */
async function failedReplacement(documentId: string, topic: string): Promise<string> {
  failForGood();
  const form = new FormData();
  form.append('file', new Blob([text(topic)], { type: 'text/plain' }), `${topic}.txt`);
  const res = await t.api.call(`/v1/documents/${documentId}`, { method: 'PUT', form });
  expect(res.status).toBe(202);
  const replacement = await t.api.waitForDocument(res.body.documents[0].id);
  expect(replacement).toMatchObject({ status: 'failed', error: { code: 'provider_auth_failed' } });
  return replacement.id as string;
}

async function stored(id: string) {
  const r = await t.db.query<{ version: number; attempts: number; chunks: number; ordinals: number; vectors: number }>(
    `SELECT d.version, d.attempts,
            (SELECT count(*)::int FROM chunks c WHERE c.document_id = d.id) AS chunks,
            (SELECT count(DISTINCT c.ordinal)::int FROM chunks c WHERE c.document_id = d.id) AS ordinals,
            (SELECT count(*)::int FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id WHERE c.document_id = d.id) AS vectors
       FROM documents d WHERE d.id = $1`,
    [id],
  );
  return r.rows[0]!;
}

test('a document that failed for good is retried once the provider recovers and becomes ready, with one set of chunks', async () => {
  const id = await failedDocument('recovered');
  expect(await counts()).toMatchObject({ failed: 1, ready: 0 });
  const callsBefore = t.fake.calls.length;
  // Progress the failed run left behind; a text file has no pages, warnings or scanned pages of its own.
  await t.db.query(`UPDATE documents SET pages_parsed = 2, pages_total = 3, warnings = '["Page 2 has no text layer."]'::jsonb, scanned_pages = '{2}' WHERE id = $1`, [id]);
  expect((await t.api.call(`/v1/documents/${id}`)).body.progress).toMatchObject({ chunks_total: expect.any(Number) });

  const r = await retry(id);
  expect(r.status).toBe(202);
  // The answer is read in the retry's own transaction, before the job is queued: the row as the retry
  // left it. (Read from the database afterwards, the new run may already have written progress of its own.)
  expect(r.body).toMatchObject({
    id, status: 'queued', error: null, job_id: `${id}-v2`, warnings: [],
    progress: { attempts: 0, pages_parsed: null, pages_total: null, chunks_total: null, chunks_embedded: 0, eta_seconds: null, scanned_pages: [] },
  });
  const doc = await t.api.waitForDocument(id);
  expect(doc).toMatchObject({ status: 'ready', error: null, progress: { attempts: 1 } });
  expect(t.fake.calls.length).toBeGreaterThan(callsBefore);
  const row = await stored(id);
  expect(row).toMatchObject({ version: 2, chunks: doc.progress.chunks_total, ordinals: doc.progress.chunks_total, vectors: doc.progress.chunks_total });
  expect(await counts()).toMatchObject({ failed: 0, ready: 1, queued: 0, processing: 0 });
});

test('a document that is not failed cannot be retried: 409', async () => {
  const r = await t.api.upload(collectionId, [{ name: 'fine.txt', bytes: text('fine'), type: 'text/plain' }]);
  const doc = await t.api.waitForDocument(r.body.documents[0].id);
  expect(doc.status).toBe('ready');
  const again = await retry(doc.id);
  expect(again.status).toBe(409);
  expect(again.body.error).toMatchObject({ code: 'conflict', message: `Document ${doc.id} is ready; only a failed document can be retried.` });
  expect(await stored(doc.id)).toMatchObject({ version: 1, attempts: 1 });
});

test('two retries at once (a double click) start one attempt', async () => {
  const id = await failedDocument('double-click');
  const [a, b] = await Promise.all([retry(id), retry(id)]);
  expect([a.status, b.status].sort()).toEqual([202, 409]);
  expect([a, b].find((x) => x.status === 409)!.body.error.message).toMatch(/ is (queued|processing|ready); only a failed document can be retried\.$/);
  const doc = await t.api.waitForDocument(id);
  expect(doc).toMatchObject({ status: 'ready', progress: { attempts: 1 } });
  expect(await stored(id)).toMatchObject({ version: 2, attempts: 1, chunks: doc.progress.chunks_total, ordinals: doc.progress.chunks_total });
});

test("another team's key gets 404 and changes nothing; an organisation admin may retry any team's document", async () => {
  const id = await failedDocument('other-team');
  const denied = await retry(id, TEAM_B);
  expect(denied.status).toBe(404);
  expect(denied.body.error.code).toBe('document_not_found');
  expect((await t.api.call(`/v1/documents/${id}`)).body).toMatchObject({ status: 'failed', error: { code: 'provider_auth_failed' } });

  // TEAM_A's key is an organisation admin (role `admin`): it reaches team B's documents.
  const theirs = (await t.api.createCollection({ name: 'Team B retry', embedding_model: 'openai/small' }, TEAM_B)).id;
  const bDoc = await failedDocument('team-b', theirs, TEAM_B);
  expect((await retry(bDoc)).status).toBe(202);
  expect((await t.api.waitForDocument(bDoc)).status).toBe('ready');
});

test('a failed replacement is retried while it is the latest one; an older one is 409 naming the newer', async () => {
  const r = await t.api.upload(collectionId, [{ name: 'replaced.txt', bytes: text('replaced-v1'), type: 'text/plain' }]);
  const doc = await t.api.waitForDocument(r.body.documents[0].id);
  const older = await failedReplacement(doc.id, 'replaced-v2');
  const latest = await failedReplacement(doc.id, 'replaced-v3');

  const refused = await retry(older);
  expect(refused.status).toBe(409);
  expect(refused.body.error.code).toBe('conflict');
  expect(refused.body.error.message).toContain(`A newer replacement (${latest}) of document ${doc.id}`);
  // Machine-readable beside the error (AppError `exposed`): which one to retry instead.
  expect(refused.body).toMatchObject({ reason: 'newer_replacement', status: 'failed', document_id: doc.id, newer_replacement_id: latest });

  // Retrying the document itself, which stays ready on its old content, names the failed replacement to retry.
  const original = await retry(doc.id);
  expect(original.status).toBe(409);
  expect(original.body.error.message).toMatch(new RegExp(`^Document ${doc.id} is ready; only a failed document can be retried\\. Its latest replacement ${latest} failed \\(provider_auth_failed\\); that one can be retried\\. .*POST /v1/documents/${latest}/retry\\.$`));
  expect(original.body).toMatchObject({ reason: 'not_failed', status: 'ready', document_id: doc.id, failed_replacement_id: latest, failure_code: 'provider_auth_failed' });
  expect((await t.api.call(`/v1/documents/${doc.id}`)).body.replacement.error).toMatchObject({ code: 'provider_auth_failed', retryable: true, action: expect.stringContaining(`/v1/documents/${latest}/retry`) });

  const accepted = await retry(latest);
  expect(accepted.status).toBe(202);
  expect(accepted.body).toMatchObject({ id: latest, status: 'queued', document_id: doc.id });
  expect((await t.api.waitForDocument(latest)).status).toBe('ready');
  const now = (await t.api.call(`/v1/documents/${doc.id}`)).body;
  expect(now).toMatchObject({ status: 'ready', filename: 'replaced-v3.txt' });
  expect((await stored(doc.id)).chunks).toBe(now.progress.chunks_total);
});

test('a superseded replacement is final: 409 even once the newer replacement is deleted', async () => {
  const r = await t.api.upload(collectionId, [{ name: 'superseded.txt', bytes: text('superseded-v1'), type: 'text/plain' }]);
  const doc = await t.api.waitForDocument(r.body.documents[0].id);
  const older = await failedReplacement(doc.id, 'superseded-v2');
  const newer = await failedReplacement(doc.id, 'superseded-v3');
  // As accepting `newer` marks a replacement that was still running when it arrived.
  await t.db.query(`UPDATE documents SET error_code = 'superseded', error_message = $2 WHERE id = $1`, [older, `Superseded by replacement ${newer}.`]);
  expect((await t.api.call(`/v1/documents/${newer}`, { method: 'DELETE' })).status).toBe(200);

  const refused = await retry(older);
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining(`upload the file again with PUT /v1/documents/${doc.id}`) });
  expect(await stored(older)).toMatchObject({ version: 1 });
  expect((await t.api.call(`/v1/documents/${doc.id}`)).body).toMatchObject({ status: 'ready', filename: 'superseded.txt' });
});

test("a retry is refused 402 when the caller's budget cannot cover the stored file, and changes nothing", async () => {
  const id = await failedDocument('over-budget');
  const estimates: { model: string; tokens: number }[] = [];
  t.fake.models.checkBudget = async (_context, estimate) => {
    estimates.push(estimate);
    throw new AppError('budget_exceeded', 'The team budget is spent.');
  };
  try {
    const r = await retry(id);
    expect(r.status).toBe(402);
    expect(r.body.error.code).toBe('budget_exceeded');
  } finally {
    delete t.fake.models.checkBudget;
  }
  const byteSize = (await t.api.call(`/v1/documents/${id}`)).body.byte_size as number;
  expect(estimates).toEqual([{ model: 'openai/small', tokens: Math.ceil(byteSize / 4) }]);
  expect((await t.api.call(`/v1/documents/${id}`)).body).toMatchObject({ status: 'failed', error: { code: 'provider_auth_failed' } });
  expect(await stored(id)).toMatchObject({ version: 1 });
});

describe('what a failure says, and what a retry or a re-upload does with it', () => {
  /** The text layer of neither page: the first blank, the other two scans (images only). */
  const scanned = () => makeTwoColumnPdf([], [], ['scan', 'scan']);
  const uploadFile = (name: string, bytes: Uint8Array | string, type = 'application/octet-stream') => t.api.upload(collectionId, [{ name, bytes, type }]);
  const sameBytes = async (sha: string) => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM documents WHERE collection_id = $1 AND content_sha256 = $2`, [collectionId, sha])).rows[0]!.n;

  test('a failure of configuration says retryable, with the fix to make; the retry is accepted once it is made', async () => {
    const id = await failedDocument('auth-advice');
    const doc = (await t.api.call(`/v1/documents/${id}`)).body;
    // provider_auth_failed is not retryable for a service (ERROR_CODES), but a person fixes the key and retries.
    expect(doc.error).toEqual({
      code: 'provider_auth_failed',
      message: 'Embedding failed: The provider rejected the API key.',
      stage: 'embedding',
      retryable: true,
      action: `Check the provider's API key on the gateway (e.g. OPENAI_API_KEY), then retry with POST /v1/documents/${id}/retry.`,
    });
    t.fake.failures.push(new AppError('provider_not_configured', 'No API key is set for openai (OPENAI_API_KEY).'));
    const r = await retry(id);
    expect(r.status).toBe(202);
    const notConfigured = await t.api.waitForDocument(id);
    expect(notConfigured.error).toMatchObject({ code: 'provider_not_configured', retryable: true, action: expect.stringMatching(/OPENAI_API_KEY.*then retry with POST/) });
    expect((await retry(id)).status).toBe(202);
    expect((await t.api.waitForDocument(id)).status).toBe('ready');
  });

  test('a broken file is not retryable: its error says what to upload, and a retry is 409 with the reason and the action, changing nothing', async () => {
    const r = await uploadFile('broken.pdf', '%PDF-1.7\nnot really a pdf\n%%EOF');
    const doc = await t.api.waitForDocument(r.body.documents[0].id);
    expect(doc.error).toMatchObject({ code: 'parse_failed', retryable: false, action: `Upload a readable version of the file (e.g. saved or exported again) with PUT /v1/documents/${doc.id}.` });
    const refused = await retry(doc.id);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining(`Document ${doc.id} failed with parse_failed, which the same file fails again`) });
    expect(refused.body).toMatchObject({ reason: 'not_retryable', status: 'failed', document_id: doc.id, failure_code: 'parse_failed', action: doc.error.action });
    expect(await stored(doc.id)).toMatchObject({ version: 1 });
  });

  test('a scanned PDF records its scanned pages when it fails; its retry is 409, and uploading it again answers the failed document', async () => {
    const bytes = await scanned();
    const r = await uploadFile('scan.pdf', bytes, 'application/pdf');
    expect(r.status).toBe(202);
    const doc = await t.api.waitForDocument(r.body.documents[0].id);
    expect(doc).toMatchObject({
      status: 'failed',
      progress: { pages_total: 3, scanned_pages: [2, 3] },
      error: { code: 'no_text_extracted', message: expect.stringContaining('2 scanned page(s)'), retryable: false, action: expect.stringContaining(`OCR is not supported yet: upload a version with a text layer`) },
    });
    expect(await retry(doc.id)).toMatchObject({ status: 409, body: { reason: 'not_retryable', failure_code: 'no_text_extracted' } });

    // The same bytes again: the failed document, as it is, rather than a second failed copy.
    const again = await uploadFile('scan-again.pdf', bytes, 'application/pdf');
    expect(again.status).toBe(200);
    expect(again.body.documents).toEqual([expect.objectContaining({ id: doc.id, status: 'failed', duplicate: true, retried: false, error: doc.error })]);
    expect(await sameBytes(doc.content_sha256)).toBe(1);
    expect(await stored(doc.id)).toMatchObject({ version: 1 });
  });

  test('uploading again the bytes of a document that failed for a fixable cause retries that document', async () => {
    const id = await failedDocument('reupload');
    const r = await t.api.upload(collectionId, [{ name: 'reupload-again.txt', bytes: text('reupload'), type: 'text/plain' }]);
    expect(r.status).toBe(202);
    expect(r.body.documents).toEqual([expect.objectContaining({ id, status: 'queued', error: null, duplicate: true, retried: true, job_id: `${id}-v2` })]);
    expect((await t.api.waitForDocument(id)).status).toBe('ready');
    const doc = (await t.api.call(`/v1/documents/${id}`)).body;
    expect(await sameBytes(doc.content_sha256)).toBe(1);
    expect(await stored(id)).toMatchObject({ version: 2, chunks: doc.progress.chunks_total });
  });
});

describe('a collection holds each content once: a retry is checked as a PUT of its stored bytes would be', () => {
  let coll: string;
  beforeAll(async () => {
    coll = (await t.api.createCollection({ name: 'Retry once', embedding_model: 'openai/small' })).id;
  });
  const ready = async (topic: string) => t.api.waitForDocument((await t.api.upload(coll, [{ name: `${topic}.txt`, bytes: text(topic), type: 'text/plain' }])).body.documents[0].id);
  const put = (id: string, topic: string) => t.api.call(`/v1/documents/${id}`, { method: 'PUT', json: { text: text(topic) } });
  /** The documents (not replacement rows) that hold the bytes and have not failed. */
  const holders = async (sha: string) =>
    (await t.db.query<{ id: string }>(`SELECT id FROM documents WHERE collection_id = $1 AND content_sha256 = $2 AND replaces_document_id IS NULL AND status <> 'failed'`, [coll, sha])).rows.map((r) => r.id);

  test('a failed document whose bytes a replacement is bringing into another is 409 until it finishes, then 409 naming that document; it runs once that one is deleted', async () => {
    const id = await failedDocument('held-elsewhere', coll);
    const sha = (await t.api.call(`/v1/documents/${id}`)).body.content_sha256 as string;
    const other = await ready('held-unrelated');
    const gate = gateEmbeddings(t.fake.models, ['held-elsewhere']);
    try {
      // A failed copy does not refuse the PUT (as for uploads): the bytes go to the other document.
      const moving = await put(other.id, 'held-elsewhere');
      expect(moving.status).toBe(202);
      const replacementId = moving.body.documents[0].id as string;
      await gate.reached('held-elsewhere');
      const pending = await retry(id);
      expect(pending.status).toBe(409);
      expect(pending.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining(`Replacement ${replacementId} is bringing this content into document ${other.id}`) });
      expect(pending.body).toMatchObject({ reason: 'replacement_pending', status: 'failed', document_id: other.id, replacement_id: replacementId, content_sha256: sha });
      gate.release('held-elsewhere');
      expect(await t.api.waitForDocument(replacementId)).toMatchObject({ status: 'ready', document_id: other.id });
    } finally {
      gate.restore();
    }

    const refused = await retry(id);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining(`Document ${other.id} in this collection already holds this content`) });
    expect(refused.body.error.param).toBeNull();
    expect(refused.body).toMatchObject({
      reason: 'duplicate_content', status: 'failed', document_id: other.id, content_sha256: sha,
      action: expect.stringContaining(`Delete this failed copy with DELETE /v1/documents/${id}`),
    });
    // Nothing requeued: the failed copy is as it was, and one document holds the bytes.
    expect((await t.api.call(`/v1/documents/${id}`)).body).toMatchObject({ status: 'failed', error: { code: 'provider_auth_failed' } });
    expect(await stored(id)).toMatchObject({ version: 1 });
    expect(await holders(sha)).toEqual([other.id]);

    // A PUT of its own bytes, which retries a failed document, is checked the same way.
    const reput = await put(id, 'held-elsewhere');
    expect(reput.status).toBe(409);
    expect(reput.body).toMatchObject({ reason: 'duplicate_content', document_id: other.id });
    expect(await stored(id)).toMatchObject({ version: 1 });

    // The other way out the action names: with the other document gone, the failed one runs.
    expect((await t.api.call(`/v1/documents/${other.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await retry(id)).status).toBe(202);
    expect((await t.api.waitForDocument(id)).status).toBe('ready');
    expect(await holders(sha)).toEqual([id]);
  });

  test("a failed replacement whose bytes another document holds is 409 naming it; one restoring its own document's content runs", async () => {
    const target = await ready('moving-target');
    const replacement = await failedReplacement(target.id, 'moved-in');
    const sha = (await t.api.call(`/v1/documents/${replacement}`)).body.content_sha256 as string;
    // A failed replacement holds nothing: an upload of its bytes is stored as a document of its own.
    const other = await ready('moved-in');
    expect(other.id).not.toBe(target.id);

    const refused = await retry(replacement);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain(`Document ${other.id} in this collection already holds this content, and a collection holds each content once, so failed replacement ${replacement} of document ${target.id} is not run again.`);
    expect(refused.body).toMatchObject({
      reason: 'duplicate_content', status: 'failed', document_id: other.id, content_sha256: sha,
      action: expect.stringContaining(`delete document ${other.id} first to bring this content into it`),
    });
    expect(await stored(replacement)).toMatchObject({ version: 1 });
    expect((await t.api.call(`/v1/documents/${target.id}`)).body).toMatchObject({ status: 'ready', content_sha256: target.content_sha256 });
    expect(await holders(sha)).toEqual([other.id]);

    // Its own document is not "another": a replacement restoring the content the document holds (one
    // accepted while another replacement was under way) is no second copy.
    const doc = await ready('restored');
    const gate = gateEmbeddings(t.fake.models, ['detour']);
    let restoring: string;
    try {
      expect((await put(doc.id, 'detour')).status).toBe(202);
      await gate.reached('detour');
      // Its text's cached vectors go, so the replacement restoring it calls the provider (and fails) rather than reading them.
      await t.db.query(`DELETE FROM embedding_cache WHERE content_sha256 IN (SELECT content_sha256 FROM chunks WHERE document_id = $1)`, [doc.id]);
      restoring = await failedReplacement(doc.id, 'restored');
    } finally {
      gate.restore();
    }
    expect((await t.api.call(`/v1/documents/${restoring}`)).body.content_sha256).toBe(doc.content_sha256);
    const accepted = await retry(restoring);
    expect(accepted.status).toBe(202);
    expect(await t.api.waitForDocument(restoring)).toMatchObject({ status: 'ready', document_id: doc.id });
    expect(await holders(doc.content_sha256)).toEqual([doc.id]);
  });
});
