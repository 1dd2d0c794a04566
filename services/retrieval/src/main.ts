/**
 * Runs retrieval alone (distributed mode): PostgreSQL with pgvector at DATABASE_URL, model calls
 * through the gateway. The embedded mode composes the services in scripts/start-quire.ts.
 * Exits 2 on a configuration it cannot start with, 1 when starting fails (database, port).
 */
import { migrate, openDatabase } from '@quire/db';
import { createHttpGatewayModels } from '@quire/gateway-client';
import { ConfigError, createLogger, listen, listenOptionsOf, stopOnSignals } from '@quire/server-kit';
import { readStandaloneRetrievalEnv, type StandaloneRetrievalEnv } from './config.js';
import { createRetrievalService } from './retrieval-service.js';

const logger = createLogger({ service: 'retrieval' });

async function main(): Promise<void> {
  let env: StandaloneRetrievalEnv;
  try {
    env = readStandaloneRetrievalEnv();
  } catch (error) {
    if (!ConfigError.is(error)) throw error;
    logger.error('invalid configuration', { reason: error.issues.join('; ') });
    process.exit(2);
  }
  // Migrations belong to whoever owns the schema rollout; a second runner is safe (advisory lock).
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, migrate: false });
  const applied = await migrate(db);
  if (applied.length > 0) logger.info('migrations applied', { migrations: applied });
  const service = await createRetrievalService({
    db,
    models: createHttpGatewayModels({ baseUrl: env.QUIRE_GATEWAY_URL }),
    logger,
    internalSecret: env.QUIRE_INTERNAL_SECRET,
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    queueName: env.RETRIEVAL_BENCHMARK_QUEUE,
    ...(env.QUIRE_REDIS_PREFIX ? { redisNamespace: env.QUIRE_REDIS_PREFIX } : {}),
    ...(env.QUIRE_ANSWER_LINK_HOSTS ? { answerLinkHosts: env.QUIRE_ANSWER_LINK_HOSTS } : {}),
    ...(env.QUIRE_QUERY_RETENTION_DAYS ? { queryRetentionDays: env.QUIRE_QUERY_RETENTION_DAYS } : {}),
  });
  const server = await listen(service.app, env.RETRIEVAL_PORT, env.RETRIEVAL_HOST, listenOptionsOf(env, logger));
  stopOnSignals(logger, async () => {
    await server.close();
    await service.stop();
    await db.close();
  });
  // Only now: a supervisor that stops the service on this line finds the signal handlers in place.
  logger.info('retrieval listening', { url: server.url });
}

main().catch((error: unknown) => {
  // A refusal the operator can act on (a database role without a privilege the migrations need) is one line; anything else keeps its stack.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.endsWith('_config_invalid')) logger.error('retrieval failed to start', { code, reason: (error as Error).message });
  else logger.error('retrieval failed to start', { err: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
