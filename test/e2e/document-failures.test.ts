import { makeTwoColumnPdf } from '../../services/ingestion/src/testing/fixtures.js';
import { AUTH, startHarness, waitForDocument, type Harness } from './quire-harness.js';

/**
 * What a knowledge admin sees of failed documents through the gateway: whether a retry can help and
 * what to do, a retry refused with the reason, a re-upload of the same bytes answered with the failed
 * document, and every refused file of a multi-file upload named.
 */
let h: Harness;
let base: string;
let coll: string;

beforeAll(async () => {
  h = await startHarness({ redis: false });
  base = h.quire.url;
  const created = await fetch(`${base}/v1/collections`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...AUTH },
    body: JSON.stringify({ name: `Failures ${Date.now()}`, embedding_model: 'openai/text-embedding-3-small' }),
  });
  coll = ((await created.json()) as { id: string }).id;
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

const upload = async (files: { name: string; bytes: Uint8Array | string }[]) => {
  const form = new FormData();
  for (const f of files) form.append('file', new Blob([typeof f.bytes === 'string' ? f.bytes : Buffer.from(f.bytes)]), f.name);
  const res = await fetch(`${base}/v1/collections/${coll}/documents`, { method: 'POST', headers: AUTH, body: form });
  return { status: res.status, body: (await res.json()) as any };
};
const retry = async (id: string) => {
  const res = await fetch(`${base}/v1/documents/${id}/retry`, { method: 'POST', headers: AUTH });
  return { status: res.status, body: (await res.json()) as any };
};

test('a scanned PDF fails saying what to do, with its scanned pages; its retry is 409 with the reason; uploading it again answers it', async () => {
  const scan = await makeTwoColumnPdf([], [], ['scan', 'scan']);
  const first = await upload([{ name: 'scan.pdf', bytes: scan }]);
  expect(first.status).toBe(202);
  const doc = await waitForDocument(base, first.body.documents[0].id);
  expect(doc).toMatchObject({
    status: 'failed',
    progress: { scanned_pages: [2, 3] },
    error: { code: 'no_text_extracted', retryable: false, action: expect.stringContaining(`PUT /v1/documents/${doc.id}`) },
  });
  const refused = await retry(doc.id);
  expect(refused.status).toBe(409);
  expect(refused.body).toMatchObject({ error: { code: 'conflict' }, reason: 'not_retryable', failure_code: 'no_text_extracted', action: doc.error.action, document_id: doc.id });
  const again = await upload([{ name: 'scan.pdf', bytes: scan }]);
  expect(again.status).toBe(200);
  expect(again.body.documents).toEqual([expect.objectContaining({ id: doc.id, duplicate: true, retried: false, status: 'failed' })]);
});

test('a refused multi-file upload names every refused file', async () => {
  const r = await upload([
    { name: 'ok.txt', bytes: 'A readable file.' },
    { name: 'liar.pdf', bytes: new Uint8Array([0x25, 0x50, 0xff, 0xfe, 0x00, 0x81]) },
    { name: 'empty.txt', bytes: '' },
  ]);
  expect(r.status).toBe(415);
  expect(r.body.error.message).toMatch(/liar\.pdf.*empty\.txt/);
  expect(r.body.files.map((f: { filename: string; code: string }) => [f.filename, f.code])).toEqual([
    ['liar.pdf', 'unsupported_media_type'],
    ['empty.txt', 'invalid_request'],
  ]);
});
