import { createHash } from 'node:crypto';
import { ProviderError } from '@quire/models';
import { gateEmbeddings } from './testing/gate-embeddings.js';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';

/**
 * A collection holds each content once, also while a replacement (PUT) is bringing the content into a
 * document: an upload of the same bytes meanwhile, by POST or by a PUT onto another document, is
 * refused instead of stored, since both would hold them once the replacement is swapped in.
 * (upload-races.pg.test.ts runs the two at once on a PostgreSQL server.)
 */
let t: TestIngestion;

beforeAll(async () => {
  t = await startTestIngestion('upload-dedupe', { embedConcurrencyPerProvider: 16 });
});
afterAll(() => t?.stop());

const text = (topic: string) => Array.from({ length: 5 }, (_, i) => `Paragraph ${i} of the ${topic} document explains item ${i}.`).join('\n\n');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test('bytes a pending replacement is bringing into a document are refused elsewhere until it finishes, then answered with that document', async () => {
  const { api, db } = t;
  const coll = await api.createCollection({ name: 'Once', embedding_model: 'openai/small' });
  const create = async (topic: string) => api.waitForDocument((await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text(topic) } })).body.documents[0].id);
  const [doc, other] = [await create('original'), await create('unrelated')];
  const gate = gateEmbeddings(t.fake.models, ['walrus']);
  try {
    const put = await api.call(`/v1/documents/${doc.id}`, { method: 'PUT', json: { text: text('walrus') } });
    expect(put.status).toBe(202);
    const replacementId = put.body.documents[0].id as string;
    await gate.reached('walrus');

    const pending = { reason: 'replacement_pending', document_id: doc.id, replacement_id: replacementId, content_sha256: sha(text('walrus')) };
    const post = await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text('walrus') } });
    expect(post.status).toBe(409);
    expect(post.body).toMatchObject({ error: { code: 'conflict', param: 'file', message: expect.stringContaining(`Replacement ${replacementId} is bringing this content into document ${doc.id}`) }, ...pending });
    const onto = await api.call(`/v1/documents/${other.id}`, { method: 'PUT', json: { text: text('walrus') } });
    expect(onto.status).toBe(409);
    expect(onto.body).toMatchObject(pending);
    // Neither stored anything: the replacement is the only row with the bytes.
    const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM documents WHERE content_sha256 = $1`, [sha(text('walrus'))]);
    expect(rows.rows[0]!.n).toBe(1);

    gate.release('walrus');
    expect(await api.waitForDocument(replacementId)).toMatchObject({ status: 'ready', document_id: doc.id });
    const after = await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text('walrus') } });
    expect(after.status).toBe(200);
    expect(after.body.documents[0]).toMatchObject({ id: doc.id, duplicate: true });
    const holders = await db.query<{ id: string }>(`SELECT id FROM documents WHERE content_sha256 = $1 AND replaces_document_id IS NULL`, [sha(text('walrus'))]);
    expect(holders.rows).toEqual([{ id: doc.id }]);
  } finally {
    gate.restore();
  }
});

/**
 * A POST of bytes a failed document holds runs that document again when its failure is retryable, as
 * `POST /v1/documents/:id/retry` and a PUT of its own bytes would, and is checked as they are.
 */
describe('a POST of bytes a failed document holds agrees with its retry', () => {
  const failForGood = () => t.fake.failures.push(new ProviderError({ code: 'provider_auth_failed', provider: 'openai', message: 'The provider rejected the API key.', status: 401 }));
  const rowsWith = async (hash: string) => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM documents WHERE content_sha256 = $1`, [hash])).rows[0]!.n;

  test('its own pending replacement does not refuse it: the failed document is retried', async () => {
    const { api } = t;
    const coll = await api.createCollection({ name: 'Own replacement', embedding_model: 'openai/small' });
    failForGood();
    const posted = await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text('narwhal') } });
    expect(posted.status).toBe(202);
    const doc = await api.waitForDocument(posted.body.documents[0].id);
    expect(doc).toMatchObject({ status: 'failed', error: { code: 'provider_auth_failed', retryable: true } });
    const gate = gateEmbeddings(t.fake.models, ['detour', 'narwhal']);
    try {
      // A replacement under way, then one bringing the document's own bytes back: pending, and the document's own.
      expect((await api.call(`/v1/documents/${doc.id}`, { method: 'PUT', json: { text: text('detour') } })).status).toBe(202);
      await gate.reached('detour');
      const restoring = await api.call(`/v1/documents/${doc.id}`, { method: 'PUT', json: { text: text('narwhal') } });
      expect(restoring.status).toBe(202);
      const replacementId = restoring.body.documents[0].id as string;
      await gate.reached('narwhal');
      expect((await api.call(`/v1/documents/${replacementId}`)).body).toMatchObject({ status: expect.stringMatching(/^(queued|processing)$/), document_id: doc.id });

      const again = await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text('narwhal') } });
      expect(again.status).toBe(202);
      expect(again.body.documents).toEqual([expect.objectContaining({ id: doc.id, duplicate: true, retried: true, status: 'queued' })]);
      // Nothing new stored: the document and its replacement hold the bytes.
      expect(await rowsWith(sha(text('narwhal')))).toBe(2);
    } finally {
      gate.restore();
    }
    expect(await api.waitForDocument(doc.id)).toMatchObject({ status: 'ready', content_sha256: sha(text('narwhal')) });
  });

  test("another document's pending replacement: a failed copy that would run is refused as its retry is; one that would not is answered as it is", async () => {
    const { api, db } = t;
    const coll = await api.createCollection({ name: 'Failed copy', embedding_model: 'openai/small' });
    const create = async (topic: string) => api.waitForDocument((await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text(topic) } })).body.documents[0].id);
    const [copy, other] = [await create('pelican'), await create('unrelated')];
    const hash = sha(text('pelican'));
    // The copy failed on its file (not retryable); its vectors go, so the replacement below calls the provider rather than reading them.
    await db.query(`UPDATE documents SET status = 'failed', error_code = 'parse_failed', error_message = 'unreadable' WHERE id = $1`, [copy.id]);
    await db.query(`DELETE FROM embedding_cache WHERE content_sha256 IN (SELECT content_sha256 FROM chunks WHERE document_id = $1)`, [copy.id]);
    const gate = gateEmbeddings(t.fake.models, ['pelican']);
    try {
      const moving = await api.call(`/v1/documents/${other.id}`, { method: 'PUT', json: { text: text('pelican') } });
      expect(moving.status).toBe(202);
      const replacementId = moving.body.documents[0].id as string;
      await gate.reached('pelican');

      // Not retryable: nothing would run or be stored, so the copy is the answer, as it is.
      const answered = await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text('pelican') } });
      expect(answered.status).toBe(200);
      expect(answered.body.documents).toEqual([expect.objectContaining({ id: copy.id, duplicate: true, retried: false, status: 'failed', error: expect.objectContaining({ code: 'parse_failed', retryable: false }) })]);
      expect(await rowsWith(hash)).toBe(2);

      // Retryable: it would run and become a second copy once the replacement is swapped in; refused as its retry is.
      await db.query(`UPDATE documents SET error_code = 'provider_auth_failed' WHERE id = $1`, [copy.id]);
      const pending = { reason: 'replacement_pending', status: 'failed', document_id: other.id, replacement_id: replacementId, content_sha256: hash };
      const refused = await api.call(`/v1/collections/${coll.id}/documents`, { json: { text: text('pelican') } });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject(pending);
      const retried = await api.call(`/v1/documents/${copy.id}/retry`, { method: 'POST' });
      expect(retried.status).toBe(409);
      expect(retried.body).toMatchObject(pending);
      expect((await api.call(`/v1/documents/${copy.id}`)).body).toMatchObject({ status: 'failed', error: { code: 'provider_auth_failed' } });
      expect(await rowsWith(hash)).toBe(2);
    } finally {
      gate.restore();
    }
  });
});
