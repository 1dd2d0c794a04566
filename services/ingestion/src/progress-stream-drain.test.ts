import { HEADERS } from '@quire/contracts';
import { openTestDatabase, type Db } from '@quire/db';
import { createLogger, listen, signIdentity } from '@quire/server-kit';
import { createIngestionService, type IngestionService } from './ingestion-service.js';
import { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import { client, TEAM_A, TEST_SECRET } from './testing/http.js';
import { storeQueuedText } from './testing/queued-document.js';

/**
 * A progress stream open when the service stops (SIGTERM: listen()'s close, then the service's stop)
 * does not hold the stop until the drain deadline: it ends at once asking its client to reconnect.
 */
let db: Db;
let service: IngestionService;

beforeAll(async () => {
  db = await openTestDatabase();
  service = await createIngestionService({
    db,
    models: createFakeGatewayModels({ dimensions: 32 }).models,
    logger: createLogger({ test: 'progress-stream-drain' }, 'error'),
    internalSecret: TEST_SECRET,
    // Quick polls and a lifetime far beyond the test: only the stop can end the stream.
    limits: { reconcileIntervalMs: 3_600_000, eventsPollMs: 50, eventsKeepAliveMs: 60_000, eventsMaxStreamMs: 600_000 },
  });
  await service.start();
});
afterAll(async () => {
  await service?.stop();
  await db?.close();
});

test('stopping with a progress stream open ends it at once with a reconnect event (reason shutdown), well within the drain deadline', async () => {
  const drainMs = 10_000;
  const server = await listen(service.app, 0, '127.0.0.1', { drainMs });
  const coll = await client(server.url).createCollection({ name: 'Draining', embedding_model: 'openai/small' });
  // Stored, never enqueued: it stays queued, so nothing but the stop ends its stream.
  const { documentId } = await storeQueuedText(db, coll.id, 'waiting', 3);
  const res = await fetch(`${server.url}/v1/documents/${documentId}/events`, { headers: { [HEADERS.identity]: signIdentity(TEAM_A, TEST_SECRET) } });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes('event: progress')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  // The stream has polled a few times since: it is asleep between polls when the stop comes.
  await new Promise((resolve) => setTimeout(resolve, 200));

  const t0 = Date.now();
  await server.close();
  expect(Date.now() - t0).toBeLessThan(2_000);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  const events = text.split('\n\n').filter((block) => block.trim() !== '');
  expect(events[0]).toContain('event: progress');
  expect(events[events.length - 1]).toBe(`event: reconnect\nretry: 1000\ndata: ${JSON.stringify({ id: documentId, reason: 'shutdown', retry_ms: 1000 })}`);
});
