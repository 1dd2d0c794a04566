import { createLogger, createServiceApp, finishServiceApp, handle, listen, type RunningServer } from '@quire/server-kit';
import { resolveLimits } from '../limits.js';
import { makeZip } from '../testing/docx-fixtures.js';
import { readUpload } from './read-upload.js';
import { createUploadMemory } from './upload-memory.js';

const logger = createLogger({ test: 'read-upload' }, 'error');
const MIB = 1024 * 1024;
const limits = resolveLimits({ maxUploadBytes: MIB, maxUploadTotalBytes: 1.5 * MIB, maxFilesPerUpload: 2 });

let server: RunningServer;

beforeAll(async () => {
  // The service's own app setup (JSON parsing and its guard, error handler) around readUpload alone.
  const app = createServiceApp({ name: 'read-upload-test', logger, ready: async () => undefined, beforeBody: createUploadMemory(limits, logger).reserve });
  app.post(
    '/documents',
    handle(async (req, res) => {
      const upload = await readUpload(req, res, limits);
      res.json(upload.items.map((item) => ({ mime: item.mime, filename: item.filename })));
    }),
  );
  finishServiceApp(app, logger);
  server = await listen(app, 0);
});

afterAll(() => server?.close());

async function send(init: { form?: FormData; json?: unknown; body?: string; type?: string }) {
  const headers: Record<string, string> = {};
  let body: FormData | string | undefined = init.form ?? init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  if (init.type) headers['content-type'] = init.type;
  const res = await fetch(`${server.url}/documents`, { method: 'POST', headers, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string; param: string | null } } };
}

function form(files: { name: string; bytes: Uint8Array | string }[]): FormData {
  const data = new FormData();
  for (const f of files) data.append('file', new Blob([typeof f.bytes === 'string' ? f.bytes : Buffer.from(f.bytes)]), f.name);
  return data;
}

describe('readUpload refusals say what to change', () => {
  test('each upload limit names its setting, in MiB (2^20 bytes) as the setting counts', async () => {
    const big = await send({ form: form([{ name: 'big.txt', bytes: 'a'.repeat(MIB + 1024) }]) });
    expect([big.status, big.body.error.code, big.body.error.message]).toEqual([413, 'payload_too_large', "A file ('file') is larger than the 1 MiB limit (QUIRE_INGEST_MAX_UPLOAD_MB)."]);
    const many = await send({ form: form(['a.txt', 'b.txt', 'c.txt'].map((name) => ({ name, bytes: 'notes' }))) });
    expect([many.status, many.body.error.message]).toEqual([400, 'At most 2 files per upload (QUIRE_INGEST_MAX_FILES_PER_UPLOAD).']);
    const total = await send({ form: form(['a.txt', 'b.txt'].map((name) => ({ name, bytes: 'a'.repeat(900 * 1024) }))) });
    expect([total.status, total.body.error.message]).toEqual([413, 'The files of one upload together are larger than the 1.5 MiB limit (QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB).']);
  });

  test('a broken .docx is refused as one, with what to do', async () => {
    const res = await send({ form: form([{ name: 'x.docx', bytes: makeZip([{ name: 'notes.txt', data: 'not Word' }]) }]) });
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({ code: 'unsupported_media_type', message: expect.stringMatching(/^'x\.docx' is not a readable Word document \(no word\/document\.xml.*re-save it as \.docx from Word or LibreOffice\.$/) });
    expect(res.body.error.message).not.toContain('Supported types');
  });

  test('a JSON body without text or url says that files go as multipart file parts', async () => {
    const none = await send({ json: { title: 'Handbook' } });
    expect([none.status, none.body.error.param]).toEqual([400, 'text']);
    expect(none.body.error.message).toBe("Invalid request body: text: send 'text' or 'url' (files go as multipart/form-data 'file' parts, not in JSON)");
    const both = await send({ json: { text: 'x', url: 'https://example.com/x' } });
    expect([both.status, both.body.error.message]).toEqual([400, "Invalid request body: text: send only one of 'text' and 'url'"]);
  });

  test('JSON sent without its content-type is refused saying to send content-type: application/json', async () => {
    const res = await send({ body: JSON.stringify({ text: 'Some notes.' }), type: 'text/plain;charset=UTF-8' });
    expect([res.status, res.body.error.code]).toEqual([415, 'unsupported_media_type']);
    expect(res.body.error.message).toContain("'content-type: application/json'");
  });
});
