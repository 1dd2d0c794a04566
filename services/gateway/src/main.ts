/**
 * The gateway on its own (distributed mode): PostgreSQL with pgvector at DATABASE_URL, the other
 * services at QUIRE_INGESTION_URL and QUIRE_RETRIEVAL_URL. `pnpm start` runs all three in one process instead.
 * Exits 2 on a configuration it cannot start with, 1 when starting fails (database, port).
 */
import path from 'node:path';
import { migrate, openDatabase } from '@quire/db';
import { RegistryError } from '@quire/models';
import { ConfigError, createLogger, listen, listenOptionsOf, stopOnSignals } from '@quire/server-kit';
import { governanceRedisOf, imageTokensOf, readStandaloneGatewayEnv, type StandaloneGatewayEnv } from './config.js';
import { catalogFromEnv } from './catalog-from-env.js';
import { createGatewayService } from './gateway-service.js';

const logger = createLogger({ service: 'gateway' });

async function main(): Promise<void> {
  let env: StandaloneGatewayEnv;
  let catalog: ReturnType<typeof catalogFromEnv>;
  try {
    env = readStandaloneGatewayEnv();
    catalog = catalogFromEnv(env, logger);
  } catch (error) {
    if (!ConfigError.is(error) && !RegistryError.is(error)) throw error;
    logger.error('invalid configuration', { reason: error.message });
    process.exit(2);
  }
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, migrate: false });
  const applied = await migrate(db);
  if (applied.length > 0) logger.info('migrations applied', { migrations: applied });
  const { handler, ledger, governance } = createGatewayService({
    db,
    catalog,
    logger,
    internalSecret: env.QUIRE_INTERNAL_SECRET,
    upstreams: { ingestionUrl: env.QUIRE_INGESTION_URL, retrievalUrl: env.QUIRE_RETRIEVAL_URL },
    routesFile: env.QUIRE_ROUTES_FILE ?? null,
    // Replicas share budgets and rate limits through Redis (docker-compose sets REDIS_URL), under QUIRE_REDIS_PREFIX if set.
    governance: {
      ...(env.QUIRE_ADMIN_KEY ? { adminKey: env.QUIRE_ADMIN_KEY } : {}),
      ...governanceRedisOf(env),
      ...(env.QUIRE_BUDGET_DEFAULT_MAX_OUTPUT_TOKENS ? { defaultMaxOutputTokens: env.QUIRE_BUDGET_DEFAULT_MAX_OUTPUT_TOKENS } : {}),
      allowUnpriced: env.QUIRE_BUDGETS_ALLOW_UNPRICED,
      imageTokens: imageTokensOf(env),
    },
    // With a local data folder the ledger journals rows and commits them in the background.
    ...(env.QUIRE_DATA_DIR ? { ledger: { journalDir: path.join(env.QUIRE_DATA_DIR, 'ledger-journal') } } : {}),
  });
  await governance.ready;
  const server = await listen(handler, env.QUIRE_PORT, env.QUIRE_HOST, listenOptionsOf(env, logger));
  // In this order: the handlers still running write ledger rows, which need the ledger and the database.
  stopOnSignals(logger, async () => {
    await server.close();
    await ledger.close();
    await governance.close();
    await db.close();
  });
  // Only now: a supervisor that stops the service on this line finds the signal handlers in place.
  logger.info('gateway listening', { url: server.url, limits: env.REDIS_URL ? 'redis' : 'in-process' });
  if (!env.REDIS_URL) {
    // Each replica would count only the spend and requests it served itself since it first counted them.
    logger.warn('without REDIS_URL, budgets and rate limits are counted per gateway process: run a single gateway replica, or set REDIS_URL to share them');
  }
}

main().catch((error: unknown) => {
  // A refusal the operator can act on (a database role without a privilege the migrations need) is one line; anything else keeps its stack.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.endsWith('_config_invalid')) logger.error('gateway failed to start', { code, reason: (error as Error).message });
  else logger.error('gateway failed to start', { err: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
