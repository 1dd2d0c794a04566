import { openTestDatabase, type Db } from '@quire/db';
import type { GatewayModels } from '@quire/gateway-client';
import { createLogger, listen, type RunningServer } from '@quire/server-kit';
import { createIngestionService, type IngestionService } from '../ingestion-service.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { client, TEAM_B, TEST_SECRET } from '../testing/http.js';

/**
 * Ingest jobs are admitted in turns between the submitters' teams: another team's upload is not
 * queued behind a team's backlog. One job slot; the first document's embedding is held until the
 * other team's upload is in, so both backlogs are queued when the slot frees.
 */
let db: Db;
let service: IngestionService;
let server: RunningServer;
const embedded: string[] = []; // the collection of each document as its embedding starts
let release!: () => void;
const released = new Promise<void>((resolve) => (release = resolve));
let entered!: () => void;
const first = new Promise<void>((resolve) => (entered = resolve));

beforeAll(async () => {
  db = await openTestDatabase();
  const fake = createFakeGatewayModels({ dimensions: 32, maxEmbeddingsPerCall: 64 });
  const models: GatewayModels = {
    ...fake.models,
    embeddingModel(name, context) {
      const model = fake.models.embeddingModel(name, context);
      return {
        ...model,
        async doEmbed(options) {
          embedded.push(context.collectionId ?? '');
          if (embedded.length === 1) {
            entered();
            await released;
          }
          return model.doEmbed(options);
        },
      };
    },
  };
  service = await createIngestionService({
    db,
    models,
    logger: createLogger({ test: 'ingest-fairness' }, 'error'),
    internalSecret: TEST_SECRET,
    limits: { concurrency: 1, reconcileIntervalMs: 3_600_000, retryBaseDelayMs: 5 },
  });
  await service.start();
  server = await listen(service.app, 0);
});

afterAll(async () => {
  release();
  await server?.close();
  await service?.stop();
  await db?.close();
});

test('another team\'s document runs next, not after a team\'s whole backlog', async () => {
  const api = client(server.url);
  const a = await api.createCollection({ name: 'Backlog', embedding_model: 'openai/small' });
  const b = await api.createCollection({ name: 'Other team', embedding_model: 'openai/small' }, TEAM_B);
  const backlog = await api.upload(a.id, [1, 2, 3, 4, 5].map((n) => ({ name: `a-${n}.txt`, bytes: `Document ${n} of team A's backlog.`, type: 'text/plain' })));
  expect(backlog.status).toBe(202);
  await first;
  const other = await api.upload(b.id, [{ name: 'b.txt', bytes: 'The one document of team B.', type: 'text/plain' }], { identity: TEAM_B });
  expect(other.status).toBe(202);
  release();
  const ids = [...backlog.body.documents, ...other.body.documents].map((d: { id: string }) => d.id);
  for (const id of ids) expect(await api.waitForDocument(id, 30_000)).toMatchObject({ status: 'ready' });
  // First come first served would embed team B's document last.
  expect(embedded).toEqual([a.id, b.id, a.id, a.id, a.id, a.id]);
}, 60_000);
