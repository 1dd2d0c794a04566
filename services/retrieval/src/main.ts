/**
 * Runs retrieval alone (distributed mode): PostgreSQL with pgvector at DATABASE_URL, model calls
 * through the gateway. The embedded mode composes the services in scripts/start-quire.ts.
 * Exits 2 on a configuration it cannot start with, 1 when starting fails (database, port).
 */
import { z } from 'zod';
import { migrate, openDatabase } from '@quire/db';
import { createHttpGatewayModels } from '@quire/gateway-client';
import { createLogger, describeZodError, drainMsSchema, listen, listenOptionsOf, sseStallMsSchema, stopOnSignals } from '@quire/server-kit';
import { answerLinkHostsSchema } from './answer/link-hosts-env.js';
import { queryRetentionDaysSchema } from './queries/query-retention.js';
import { createRetrievalService } from './retrieval-service.js';

const EnvSchema = z.object({
  // Required: alone, an embedded database would be an empty one of this process's own.
  DATABASE_URL: z
    .string({ error: 'DATABASE_URL is required (PostgreSQL with pgvector, shared with the other services)' })
    .min(1, 'DATABASE_URL is required (PostgreSQL with pgvector, shared with the other services)')
    .url('DATABASE_URL must be a URL such as postgres://user:password@host:5432/quire'),
  QUIRE_INTERNAL_SECRET: z.string().min(32, 'QUIRE_INTERNAL_SECRET must be at least 32 characters (shared with the gateway)'),
  QUIRE_GATEWAY_URL: z.string().url(),
  // Benchmark runs as BullMQ jobs shared by every retrieval process; without it, in process.
  REDIS_URL: z.string().url().optional(),
  // Deployments sharing one Redis database need their own queue names (better: one Redis database each, redis://host:6379/N).
  RETRIEVAL_BENCHMARK_QUEUE: z
    .string()
    .regex(/^[^:\s]+$/, 'RETRIEVAL_BENCHMARK_QUEUE must be a BullMQ queue name: not empty, no ":" and no spaces')
    .default('quire-benchmarks'),
  RETRIEVAL_PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  RETRIEVAL_HOST: z.string().default('127.0.0.1'),
  /** How long a stopping service lets requests in progress finish before it cuts them off (default 8 s). */
  QUIRE_SHUTDOWN_DRAIN_MS: drainMsSchema,
  /** How long an answer stream may wait on a client that reads nothing before it is cut off (default 60 s). */
  QUIRE_SSE_STALL_MS: sseStallMsSchema,
  QUIRE_ANSWER_LINK_HOSTS: answerLinkHostsSchema,
  QUIRE_QUERY_RETENTION_DAYS: queryRetentionDaysSchema,
});

const logger = createLogger({ service: 'retrieval' });

async function main(): Promise<void> {
  const parsed = EnvSchema.safeParse(process.env);
  if (!parsed.success) {
    logger.error('invalid configuration', { reason: describeZodError(parsed.error) });
    process.exit(2);
  }
  const env = parsed.data;
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
