import http from 'node:http';
import { HEADERS } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { TEAM_A, TEST_SECRET } from './testing/http.js';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';

const KIB = 1024;
const MIB = 1024 * KIB;

let t: TestIngestion;
let coll: { id: string };

beforeAll(async () => {
  // Room for one upload at the limit and a half.
  t = await startTestIngestion('ingestion-upload-memory', { maxUploadBytes: MIB, maxUploadTotalBytes: MIB, uploadMemoryBytes: 1.5 * MIB });
  coll = await t.api.createCollection({ name: 'Upload memory', embedding_model: 'openai/e' });
});

afterAll(async () => {
  await t?.stop();
});

async function stored(): Promise<{ documents: number; blobs: number }> {
  const documents = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM documents');
  const blobs = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM document_blobs');
  return { documents: documents.rows[0]!.n, blobs: blobs.rows[0]!.n };
}

/**
 * An upload that declares `length` bytes and waits for `100 Continue` before sending any: the service
 * runs its middleware, the upload memory's gate among them, before it sends that, so the room is taken
 * once `continue` arrives, and stays taken while the body does not come.
 */
function pendingUpload(length: number): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${t.server.url}/v1/collections/${coll.id}/documents`, {
      method: 'POST',
      headers: {
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': String(length),
        expect: '100-continue',
        [HEADERS.identity]: signIdentity(TEAM_A, TEST_SECRET),
      },
    });
    req.on('continue', () => resolve(req));
    req.on('error', () => undefined);
    req.on('response', () => reject(new Error('answered before its body was sent')));
    req.flushHeaders();
  });
}

describe('the upload memory refuses what does not fit, and a refused upload stores nothing', () => {
  test('503 uploads_busy while other uploads hold the room; the room comes back when their client leaves', async () => {
    const holder = await pendingUpload(MIB);
    const file = await t.api.upload(coll.id, [{ name: 'notes.txt', bytes: 'a'.repeat(700 * KIB) }]);
    expect(file.status).toBe(503);
    expect(file.body.error).toMatchObject({ code: 'uploads_busy', message: expect.stringContaining('QUIRE_INGEST_UPLOAD_MEMORY_MB') });
    const text = await t.api.call(`/v1/collections/${coll.id}/documents`, { json: { text: `# Notes\n\n${'b'.repeat(700 * KIB)}` } });
    expect([text.status, text.body.error.code]).toEqual([503, 'uploads_busy']);
    expect(await stored()).toEqual({ documents: 0, blobs: 0 });

    holder.destroy();
    // The service sees the client leave shortly after; until then the upload is still refused, and stores nothing.
    const deadline = Date.now() + 10_000;
    let retry = await t.api.upload(coll.id, [{ name: 'notes.txt', bytes: 'a'.repeat(700 * KIB) }]);
    while (retry.status === 503 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      retry = await t.api.upload(coll.id, [{ name: 'notes.txt', bytes: 'a'.repeat(700 * KIB) }]);
    }
    expect(retry.status).toBe(202);
    expect(await stored()).toEqual({ documents: 1, blobs: 1 });
  });

  test('413 naming the setting for an upload larger than the whole upload memory, and nothing stored', async () => {
    const before = await stored();
    const res = await t.api.call(`/v1/collections/${coll.id}/documents`, { json: { text: 'c'.repeat(2 * MIB) } });
    expect([res.status, res.body.error.code]).toEqual([413, 'payload_too_large']);
    expect(res.body.error.message).toContain('(QUIRE_INGEST_UPLOAD_MEMORY_MB)');
    expect(await stored()).toEqual(before);
  });
});
