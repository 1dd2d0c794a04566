/**
 * The gateway on its own (distributed mode): PostgreSQL with pgvector at DATABASE_URL, the other
 * services at QUIRE_INGESTION_URL and QUIRE_RETRIEVAL_URL. `pnpm start` runs all three in one process instead.
 */
import path from 'node:path';
import { openDatabase } from '@quire/db';
import { createLogger, listen } from '@quire/server-kit';
import { readGatewayEnv } from './config.js';
import { catalogFromEnv } from './catalog-from-env.js';
import { createGatewayService } from './gateway-service.js';

const env = readGatewayEnv();
const logger = createLogger({ service: 'gateway' });
if (!env.DATABASE_URL || !env.QUIRE_INTERNAL_SECRET || !env.QUIRE_INGESTION_URL || !env.QUIRE_RETRIEVAL_URL) {
  logger.error('the standalone gateway needs DATABASE_URL, QUIRE_INTERNAL_SECRET, QUIRE_INGESTION_URL and QUIRE_RETRIEVAL_URL (use `pnpm start` for the embedded mode)');
  process.exit(2);
}
const db = await openDatabase({ databaseUrl: env.DATABASE_URL });
const dataDir = process.env.QUIRE_DATA_DIR;
const { handler, ledger, governance } = createGatewayService({
  db,
  catalog: catalogFromEnv(env, logger),
  logger,
  internalSecret: env.QUIRE_INTERNAL_SECRET,
  upstreams: { ingestionUrl: env.QUIRE_INGESTION_URL, retrievalUrl: env.QUIRE_RETRIEVAL_URL },
  // Replicas share budgets and rate limits through Redis; docker-compose sets REDIS_URL.
  governance: {
    ...(env.QUIRE_ADMIN_KEY ? { adminKey: env.QUIRE_ADMIN_KEY } : {}),
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    ...(env.QUIRE_BUDGET_DEFAULT_MAX_OUTPUT_TOKENS ? { defaultMaxOutputTokens: env.QUIRE_BUDGET_DEFAULT_MAX_OUTPUT_TOKENS } : {}),
  },
  // With a local data folder the ledger journals rows and commits them in the background.
  ...(dataDir ? { ledger: { journalDir: path.join(dataDir, 'ledger-journal') } } : {}),
});
await governance.ready;
const server = await listen(handler, env.QUIRE_PORT, env.QUIRE_HOST);
logger.info('gateway listening', { url: server.url, limits: env.REDIS_URL ? 'redis' : 'in-process' });
if (!env.REDIS_URL) {
  // Each replica would count only the spend and requests it served itself since it first counted them.
  logger.warn('without REDIS_URL, budgets and rate limits are counted per gateway process: run a single gateway replica, or set REDIS_URL to share them');
}
const shutdown = async () => {
  await server.close();
  await ledger.close();
  await governance.close();
  await db.close();
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
