import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from '@quire/fakes';
import { createModelRegistry, createPriceBook, type ModelPrice, type ProvidersConfig } from '@quire/models';
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
export async function startBothDoors(
  options: {
    retry?: GatewayDeps['retry'];
    /** The fake OpenAI's chat answer to a request body (default: its stock reply). */
    reply?: FakeOpenAIOptions['reply'];
    /** Providers beside the fake OpenAI (a fake Anthropic, say), as configured in QUIRE_PROVIDERS_JSON. */
    providers?: ProvidersConfig;
    /** Prices beside gpt-4o-mini's and text-embedding-3-small's. */
    prices?: Record<string, Partial<ModelPrice> & { input: string; output: string }>;
  } = {},
): Promise<BothDoors> {
  const [db, openai] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test', ...(options.reply ? { reply: options.reply } : {}) })]);
  const registry = createModelRegistry({ openai: { type: 'openai-compatible', baseURL: openai.url, apiKey: 'sk-test', allowLoopback: true }, ...options.providers });
  const extraPrices = Object.fromEntries(Object.entries(options.prices ?? {}).map(([k, p]) => [k, { asOf: 'test', source: 'test', ...p }]));
  const prices = createPriceBook({
    'openai/gpt-4o-mini': { input: '1', output: '2', asOf: 'test', source: 'test' },
    'openai/text-embedding-3-small': { input: '0.02', output: '0', asOf: 'test', source: 'test' },
    ...extraPrices,
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
