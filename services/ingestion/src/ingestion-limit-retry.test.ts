import { openTestDatabase, type Db } from '@quire/db';
import { createLogger, listen, type RunningServer } from '@quire/server-kit';
import { createIngestionService, type IngestionService } from './ingestion-service.js';
import type { IngestionLimits } from './limits.js';
import { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import { makePdf } from './testing/fixtures.js';
import { client, TEST_SECRET } from './testing/http.js';

/**
 * A document that failed under a limit (too many pages, too many chunks) is refused a retry while the
 * limit stays where it was, and retried once an operator raises it: the failure records the limit and
 * its value, which the retry and the document's advice compare with the limit in force.
 */
const logger = createLogger({ test: 'ingestion-limit-retry' }, 'error');
let db: Db;
let running: { service: IngestionService; server: RunningServer; api: ReturnType<typeof client> } | null = null;

/** The ingestion service on the shared database under `limits`, as an operator restarts it with new settings. */
async function restartWith(limits: Partial<IngestionLimits>) {
  if (running) {
    await running.server.close();
    await running.service.stop();
  }
  const service = await createIngestionService({
    db, models: createFakeGatewayModels({ dimensions: 16 }).models, logger, internalSecret: TEST_SECRET,
    limits: { parseWorkers: 1, reconcileIntervalMs: 3_600_000, retryBaseDelayMs: 5, ...limits },
  });
  await service.start();
  const server = await listen(service.app, 0);
  running = { service, server, api: client(server.url) };
  return running.api;
}

beforeAll(async () => {
  db = await openTestDatabase();
});

afterAll(async () => {
  await running?.server.close();
  await running?.service.stop();
  await db?.close();
});

const paragraphs = (n: number) => Array.from({ length: n }, (_, i) => `Paragraph ${i} of the long handbook explains rule ${i} in a sentence or two.`).join('\n\n');

test('a PDF over the page limit is retried once QUIRE_INGEST_MAX_PAGES is raised above the value it failed under, not before', async () => {
  let api = await restartWith({ maxPages: 2 });
  const coll = await api.createCollection({ name: 'Pages', embedding_model: 'openai/e' });
  const pdf = await makePdf([['Page one about harbours.'], ['Page two about ships.'], ['Page three about lighthouses.']]);
  const r = await api.upload(coll.id, [{ name: 'three.pdf', bytes: pdf, type: 'application/pdf' }]);
  const failed = await api.waitForDocument(r.body.documents[0].id);
  expect(failed).toMatchObject({
    status: 'failed',
    error: { code: 'parse_failed', retryable: false, limit: { setting: 'QUIRE_INGEST_MAX_PAGES', failed_under: 2 }, action: expect.stringContaining('raise QUIRE_INGEST_MAX_PAGES above 2, then retry') },
  });

  // Not raised: the clear 409, naming the setting and the value.
  const refused = await api.call(`/v1/documents/${failed.id}/retry`, { method: 'POST' });
  expect(refused.status).toBe(409);
  expect(refused.body).toMatchObject({ reason: 'not_retryable', failure_code: 'parse_failed', limit_setting: 'QUIRE_INGEST_MAX_PAGES', failed_under: 2 });
  expect(refused.body.error.message).toContain('failed under QUIRE_INGEST_MAX_PAGES (2)');

  // Restarted with the same limit: still refused.
  api = await restartWith({ maxPages: 2 });
  expect((await api.call(`/v1/documents/${failed.id}/retry`, { method: 'POST' })).status).toBe(409);

  // Raised: the advice says so, and the retry runs the stored bytes again.
  api = await restartWith({ maxPages: 10 });
  expect((await api.call(`/v1/documents/${failed.id}`)).body.error).toMatchObject({ retryable: true, action: expect.stringContaining('QUIRE_INGEST_MAX_PAGES is now above the 2 this failed under') });
  const retried = await api.call(`/v1/documents/${failed.id}/retry`, { method: 'POST' });
  expect(retried.status).toBe(202);
  expect(await api.waitForDocument(failed.id)).toMatchObject({ status: 'ready', error: null, progress: { pages_total: 3 } });
  const row = await db.query<{ error_limit: unknown }>(`SELECT error_limit FROM documents WHERE id = $1`, [failed.id]);
  expect(row.rows[0]!.error_limit).toBeNull();
});

test('a text over the chunk limit is retried by an upload of the same bytes once QUIRE_INGEST_MAX_CHUNKS is raised', async () => {
  let api = await restartWith({ maxChunks: 3 });
  const coll = await api.createCollection({ name: 'Chunks', embedding_model: 'openai/e', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } });
  const bytes = paragraphs(20);
  const first = await api.upload(coll.id, [{ name: 'handbook.txt', bytes, type: 'text/plain' }]);
  const failed = await api.waitForDocument(first.body.documents[0].id);
  expect(failed).toMatchObject({ status: 'failed', error: { code: 'chunking_failed', retryable: false, limit: { setting: 'QUIRE_INGEST_MAX_CHUNKS', failed_under: 3 } } });
  // The same bytes again are answered with the failed document, not run again.
  expect((await api.upload(coll.id, [{ name: 'handbook.txt', bytes, type: 'text/plain' }])).body.documents[0]).toMatchObject({ id: failed.id, duplicate: true, retried: false });

  api = await restartWith({ maxChunks: 1000 });
  // The list shows the advice against the limit in force too.
  const listed = (await api.call(`/v1/collections/${coll.id}/documents`)).body.data[0];
  expect(listed).toMatchObject({ id: failed.id, error: { retryable: true } });
  const again = await api.upload(coll.id, [{ name: 'handbook.txt', bytes, type: 'text/plain' }]);
  expect(again.status).toBe(202);
  expect(again.body.documents[0]).toMatchObject({ id: failed.id, duplicate: true, retried: true });
  expect(await api.waitForDocument(failed.id)).toMatchObject({ status: 'ready', error: null });
});
