import { openTestDatabase, type Db } from '@quire/db';
import { createLogger, listen, type Logger, type RunningServer } from '@quire/server-kit';
import { createIngestionService, type IngestionService } from '../ingestion-service.js';
import type { IngestionLimits } from '../limits.js';
import { createFakeGatewayModels } from './fake-gateway-models.js';
import { client, TEST_SECRET } from './http.js';

export interface TestIngestion {
  db: Db;
  fake: ReturnType<typeof createFakeGatewayModels>;
  service: IngestionService;
  server: RunningServer;
  api: ReturnType<typeof client>;
  logger: Logger;
  stop(): Promise<void>;
}

/**
 * An ingestion service on a fresh test database, listening on a free port, embedding through a fake
 * gateway (32 dimensions, 8 inputs a call). The reconciler is kept out of the way and retries are fast
 * unless `limits` says otherwise.
 */
export async function startTestIngestion(name: string, limits: Partial<IngestionLimits> = {}): Promise<TestIngestion> {
  const logger = createLogger({ test: name }, 'error');
  const db = await openTestDatabase();
  const fake = createFakeGatewayModels({ dimensions: 32, maxEmbeddingsPerCall: 8 });
  const service = await createIngestionService({ db, models: fake.models, logger, internalSecret: TEST_SECRET, limits: { reconcileIntervalMs: 3_600_000, retryBaseDelayMs: 5, ...limits } });
  await service.start();
  const server = await listen(service.app, 0);
  return {
    db, fake, service, server, api: client(server.url), logger,
    async stop() {
      await server.close();
      await service.stop();
      await db.close();
    },
  };
}
