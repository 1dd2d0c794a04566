import http from 'node:http';
import { openTestDatabase, type Db } from '@quire/db';
import { createLogger, listen, type RunningServer } from '@quire/server-kit';
import { createIngestionService, type IngestionService } from './ingestion-service.js';
import { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import { makeDocx } from './testing/docx-fixtures.js';
import { makeEndlessPdf, makePdf } from './testing/fixtures.js';
import { client } from './testing/http.js';
import { fetchUrl } from './upload/fetch-url.js';
import { HEADERS } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { TEAM_A, TEST_SECRET } from './testing/http.js';

const logger = createLogger({ test: 'ingestion-limits' }, 'error');
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

let db: Db;
let service: IngestionService;
let server: RunningServer;
let api: ReturnType<typeof client>;
let coll: { id: string };

beforeAll(async () => {
  db = await openTestDatabase();
  service = await createIngestionService({
    db,
    models: createFakeGatewayModels({ dimensions: 16 }).models,
    logger,
    internalSecret: TEST_SECRET,
    limits: { maxUploadBytes: 1024 * 1024, maxUploadTotalBytes: 1536 * 1024, parseTimeoutMs: 2_000, parseHeapMb: 256, maxUncompressedBytes: 5 * 1024 * 1024, allowLoopbackUrls: true, reconcileIntervalMs: 3_600_000, retryBaseDelayMs: 5 },
  });
  await service.start();
  server = await listen(service.app, 0);
  api = client(server.url);
  coll = await api.createCollection({ name: 'Limits', embedding_model: 'openai/e', chunking: { strategy: 'markdown', chunk_size: 200, chunk_overlap: 0 } });
});

afterAll(async () => {
  await server?.close();
  await service?.stop();
  await db?.close();
});

describe('hostile input is refused or failed, and other documents are unaffected', () => {
  test('an endless PDF is stopped at the parse deadline and a zip-bomb DOCX fails, while a normal document completes', async () => {
    const endless = await makeEndlessPdf(3_000_000);
    const bomb = makeDocx([{ text: 'hi' }], [{ name: 'word/media/bomb.bin', data: Buffer.alloc(64 * 1024 * 1024) }]);
    const good = await makePdf([['A normal page about the quarterly report.']]);
    const r = await api.upload(coll.id, [
      { name: 'endless.pdf', bytes: endless },
      { name: 'bomb.docx', bytes: bomb },
      { name: 'good.pdf', bytes: good },
    ]);
    expect(r.status).toBe(202);
    const [e, b, g] = await Promise.all(r.body.documents.map((d: { id: string }) => api.waitForDocument(d.id, 30_000)));
    expect(e).toMatchObject({ status: 'failed', error: { code: 'parse_failed' } });
    // Whichever bound it hits first (deadline or heap), only its worker dies.
    expect(e.error.message).toMatch(/longer than 2 s|memory limit/);
    expect(b).toMatchObject({ status: 'failed', error: { code: 'parse_failed' } });
    expect(b.error.message).toMatch(/zip bomb/);
    expect(g.error).toBeNull();
    expect(g.status).toBe('ready');
    expect((await api.call('/health/ready')).status).toBeLessThan(500);
  });

  test('a PNG named .pdf is a 415, an empty file a 400', async () => {
    const png = await api.upload(coll.id, [{ name: 'report.pdf', bytes: PNG, type: 'application/pdf' }]);
    expect(png.status).toBe(415);
    expect(png.body.error.message).toMatch(/PNG/);
    const empty = await api.upload(coll.id, [{ name: 'empty.txt', bytes: '' }]);
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toMatch(/empty/);
  });

  test('files each under the per-file limit are refused with 413 when together they pass the upload limit', async () => {
    const form = new FormData();
    for (const name of ['a.txt', 'b.txt']) form.append('file', new Blob([Buffer.alloc(900 * 1024, 0x61)]), name);
    const res = await fetch(`${server.url}/v1/collections/${coll.id}/documents`, { method: 'POST', body: form, headers: { [HEADERS.identity]: signIdentity(TEAM_A, TEST_SECRET) } });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.message).toContain('together are larger than the 1.5 MiB limit (QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB)');
    const stored = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM documents WHERE collection_id = $1 AND filename IN ('a.txt', 'b.txt')`, [coll.id]);
    expect(stored.rows[0]!.n).toBe(0);
  });

  test('an oversized upload is refused with 413 at the limit, without buffering it', async () => {
    const url = new URL(`/v1/collections/${coll.id}/documents`, server.url);
    const boundary = 'quireboundary';
    const before = process.memoryUsage().rss;
    const total = 300 * 1024 * 1024;
    let sentAtAnswer = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(url, {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, [HEADERS.identity]: signIdentity(TEAM_A, TEST_SECRET) },
      });
      let sent = 0;
      let answered = false;
      const block = Buffer.alloc(256 * 1024, 0x61);
      const pump = () => {
        while (!answered && sent < total) {
          sent += block.length;
          if (!req.write(block)) return void req.once('drain', pump);
        }
        if (!answered) req.end();
      };
      req.on('response', (res) => {
        answered = true;
        sentAtAnswer = sent;
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', (error) => (answered ? undefined : reject(error)));
      req.write(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="huge.txt"\r\ncontent-type: text/plain\r\n\r\n`);
      pump();
    });
    expect(status).toBe(413);
    // Answered long before the 300 MB were sent, and nothing like the body was kept.
    expect(sentAtAnswer).toBeLessThan(64 * 1024 * 1024);
    expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
  });
});

describe('URL ingestion', () => {
  test('fetches a page (loopback allowed by setting), keeps its source_url; private and metadata addresses are refused', async () => {
    const site = http.createServer((req, res) => {
      if (req.url === '/redirect') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body><nav>menu</nav><main><h1>Remote page</h1><p>The remote fact is 42 widgets.</p></main></body></html>');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    try {
      const r = await api.call(`/v1/collections/${coll.id}/documents`, { json: { url: `${base}/page.html`, metadata: { tags: ['web'] } } });
      expect(r.status).toBe(202);
      const doc = await api.waitForDocument(r.body.documents[0].id);
      expect(doc).toMatchObject({ status: 'ready', mime_type: 'text/html', metadata: { tags: ['web'], source_url: `${base}/page.html` } });
      const hit = await db.query(`SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.metadata @> '{"tags":["web"]}' AND c.text LIKE '%42 widgets%'`);
      expect(hit.rows.length).toBe(1);

      const strict = { maxBytes: 1e6, timeoutMs: 2000, allowLoopback: false };
      await expect(fetchUrl(`${base}/page.html`, strict)).rejects.toThrow(/forbidden address/);
      await expect(fetchUrl('http://169.254.169.254/latest/meta-data', strict)).rejects.toThrow(/forbidden address/);
      await expect(fetchUrl('http://10.1.2.3/x', strict)).rejects.toThrow(/forbidden address/);
      await expect(fetchUrl('http://localhost:1/x', strict)).rejects.toThrow(/forbidden address/);
      await expect(fetchUrl(`${base}/redirect`, { ...strict, allowLoopback: true })).rejects.toThrow(/forbidden address/);
      await expect(fetchUrl('file:///etc/passwd', strict)).rejects.toThrow(/http/);
      const big = await fetchUrl(`${base}/page.html`, { ...strict, allowLoopback: true, maxBytes: 10 }).catch((e: Error) => e);
      expect(String(big)).toMatch(/larger than/);
    } finally {
      site.close();
    }
  });
});
