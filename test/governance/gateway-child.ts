/**
 * A second gateway process for the shared rate-limit test: its own database, the same bootstrap
 * admin key, counters in Redis under REDIS_PREFIX. Prints `READY <port>`.
 */
import { migrate, openPGlite } from '@quire/db';
import { createModelRegistry, createPriceBook } from '@quire/models';
import { createLogger, listen } from '@quire/server-kit';
import { createGatewayService } from '../../services/gateway/src/gateway-service.js';
import { createModelCatalog } from '../../services/gateway/src/model-catalog.js';
import { TEST_ADMIN_KEY } from '../../services/gateway/src/testing/gateway-harness.js';

const logger = createLogger({ test: 'gateway-child' }, 'error');
const db = await openPGlite({});
await migrate(db);
const registry = createModelRegistry({ primary: { type: 'openai-compatible', baseURL: process.env.UPSTREAM_URL!, apiKey: 'sk-test', allowLoopback: true } });
const { handler, governance } = createGatewayService({
  db, catalog: createModelCatalog(registry, createPriceBook({}), logger), logger, internalSecret: 'test-secret-test-secret-test-secret-0123',
  upstreams: { ingestionUrl: 'http://127.0.0.1:9', retrievalUrl: 'http://127.0.0.1:9' }, routesFile: null,
  governance: { adminKey: TEST_ADMIN_KEY, redisUrl: process.env.REDIS_URL!, redisPrefix: process.env.REDIS_PREFIX! },
});
await governance.ready;
const server = await listen(handler, 0);
process.stdout.write(`READY ${server.port}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => governance.close()).finally(() => process.exit(0));
});
