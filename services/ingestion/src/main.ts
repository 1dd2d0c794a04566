/**
 * Runs ingestion alone (distributed mode): PostgreSQL with pgvector, optionally Redis for jobs,
 * model calls through the gateway. The embedded mode composes the services in scripts/start-quire.ts.
 */
import { migrate, openDatabase } from '@quire/db';
import { createHttpGatewayModels } from '@quire/gateway-client';
import { ConfigError, createLogger, listen, listenOptionsOf, stopOnSignals } from '@quire/server-kit';
import { readStandaloneIngestionEnv, type StandaloneIngestionEnv } from './config.js';
import { createIngestionService } from './ingestion-service.js';

async function main(): Promise<void> {
  const logger = createLogger({ service: 'ingestion' });
  // Every setting, the limits (QUIRE_INGEST_*, see limits-env.ts) included, is checked before anything is opened.
  let env: StandaloneIngestionEnv;
  try {
    env = readStandaloneIngestionEnv();
  } catch (error) {
    if (!ConfigError.is(error)) throw error;
    logger.error('invalid configuration', { reason: error.issues.join('; ') });
    process.exit(2);
  }
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, migrate: false });
  const applied = await migrate(db);
  if (applied.length > 0) logger.info('migrations applied', { migrations: applied });
  const service = await createIngestionService({
    db,
    models: createHttpGatewayModels({ baseUrl: env.QUIRE_GATEWAY_URL }),
    logger,
    internalSecret: env.QUIRE_INTERNAL_SECRET,
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    queueName: env.INGESTION_QUEUE,
    ...(env.QUIRE_REDIS_PREFIX ? { redisNamespace: env.QUIRE_REDIS_PREFIX } : {}),
    limits: env.limits,
  });
  const server = await listen(service.app, env.INGESTION_PORT, env.INGESTION_HOST, listenOptionsOf(env, logger));
  await service.start();
  // Requests first (an upload commits, then enqueues), then the jobs (bounded: see createBullmqQueue's stopTimeoutMs).
  stopOnSignals(logger, async () => {
    await server.close();
    await service.stop();
    await db.close();
  });
  // Only now: a supervisor that stops the service on this line finds the signal handlers in place.
  logger.info('ingestion listening', { url: server.url, jobs: env.REDIS_URL ? 'bullmq' : 'in-process' });
}

main().catch((error: unknown) => {
  // A refusal the operator can act on (a database role without a privilege the migrations need) is one line; anything else keeps its stack.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.endsWith('_config_invalid')) createLogger({ service: 'ingestion' }).error('ingestion failed to start', { code, reason: (error as Error).message });
  else createLogger({ service: 'ingestion' }).error('ingestion failed to start', { err: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
