import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { createModelRegistry, createPriceBook } from '@quire/models';
import { listen, type RunningServer } from '@quire/server-kit';
import { createGatewayService, type GatewayDeps, type GatewayService } from '../gateway-service.js';
import { createModelCatalog } from '../model-catalog.js';
import { logger, SECRET, TEST_ADMIN_KEY } from './gateway-harness.js';

export interface BothDoors {
  db: Db;
  openai: FakeOpenAI;
  service: GatewayService;
  /** The node:http model front (`service.handler`). */
  front: RunningServer;
  /** The express app alone (`service.app`), which serves what the front hands over. */
  viaExpress: RunningServer;
  close(): Promise<void>;
}

/** One gateway over a fake OpenAI, listening twice: through its model front and through express alone. */
export async function startBothDoors(options: { retry?: GatewayDeps['retry'] } = {}): Promise<BothDoors> {
  const [db, openai] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test' })]);
  const registry = createModelRegistry({ openai: { type: 'openai-compatible', baseURL: openai.url, apiKey: 'sk-test', allowLoopback: true } });
  const prices = createPriceBook({
    'openai/gpt-4o-mini': { input: '1', output: '2', asOf: 'test', source: 'test' },
    'openai/text-embedding-3-small': { input: '0.02', output: '0', asOf: 'test', source: 'test' },
  });
  const service = createGatewayService({
    db, catalog: createModelCatalog(registry, prices, logger), logger, internalSecret: SECRET,
    upstreams: { ingestionUrl: 'http://127.0.0.1:9', retrievalUrl: 'http://127.0.0.1:9' }, routesFile: null,
    ...(options.retry ? { retry: options.retry } : {}),
    governance: { adminKey: TEST_ADMIN_KEY },
  });
  const [front, viaExpress] = await Promise.all([listen(service.handler, 0), listen(service.app, 0)]);
  return {
    db, openai, service, front, viaExpress,
    async close() {
      await Promise.all([front.close(), viaExpress.close()]);
      await service.governance.close();
      await openai.close();
      await db.close();
    },
  };
}
