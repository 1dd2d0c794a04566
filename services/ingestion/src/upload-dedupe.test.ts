import { createHash } from 'node:crypto';
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
