/**
 * Runs ingestion alone (distributed mode): PostgreSQL with pgvector, optionally Redis for jobs,
 * model calls through the gateway. The embedded mode composes the services in scripts/start-quire.ts.
 */
import { z } from 'zod';
import { migrate, openDatabase } from '@quire/db';
import { createHttpGatewayModels } from '@quire/gateway-client';
import { createLogger, describeZodError, drainMsSchema, listen, listenOptionsOf, sseStallMsSchema, stopOnSignals } from '@quire/server-kit';
import { createIngestionService } from './ingestion-service.js';
import type { IngestionLimits } from './limits.js';
import { IngestionConfigError, readIngestionLimitsEnv } from './limits-env.js';

const EnvSchema = z.object({
  DATABASE_URL: z
    .string({ error: 'DATABASE_URL is required (PostgreSQL with pgvector)' })
    .min(1, 'DATABASE_URL is required (PostgreSQL with pgvector)')
    .url('DATABASE_URL must be a URL such as postgres://user:password@host:5432/quire'),
  REDIS_URL: z.string().min(1).optional(),
  QUIRE_INTERNAL_SECRET: z.string().min(32, 'QUIRE_INTERNAL_SECRET is required (at least 32 characters, shared with the gateway)'),
  QUIRE_GATEWAY_URL: z.string().url().default('http://127.0.0.1:8080'),
  INGESTION_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  // Only the gateway is a public door: behind it, a service listens on loopback unless told (docker-compose sets 0.0.0.0).
  INGESTION_HOST: z.string().default('127.0.0.1'),
  // Deployments sharing one Redis database need their own queue names (better: one Redis database each, redis://host:6379/N).
  INGESTION_QUEUE: z
    .string()
    .regex(/^[^:\s]+$/, 'INGESTION_QUEUE must be a BullMQ queue name: not empty, no ":" and no spaces')
    .default('quire-ingestion'),
  /** How long a stopping service lets requests in progress finish before it cuts them off (default 8 s). */
  QUIRE_SHUTDOWN_DRAIN_MS: drainMsSchema,
  /** How long a progress stream may wait on a client that reads nothing before it is cut off (default 60 s). */
  QUIRE_SSE_STALL_MS: sseStallMsSchema,
});

async function main(): Promise<void> {
  const logger = createLogger({ service: 'ingestion' });
  const parsed = EnvSchema.safeParse(process.env);
  if (!parsed.success) {
    logger.error('invalid configuration', { reason: describeZodError(parsed.error) });
    process.exit(2);
  }
  const env = parsed.data;
  // The limits (QUIRE_INGEST_*, see limits-env.ts) are checked before anything is opened.
  let limits: IngestionLimits;
  try {
    limits = readIngestionLimitsEnv(process.env);
  } catch (error) {
    if (!(error instanceof IngestionConfigError)) throw error;
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
    limits,
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
