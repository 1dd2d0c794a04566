import { z } from 'zod';
import { openDatabase } from '@quire/db';
import { createHttpGatewayModels } from '@quire/gateway-client';
import { createLogger, listen } from '@quire/server-kit';
import { createRetrievalService } from './retrieval-service.js';

const EnvSchema = z.object({
  DATABASE_URL: z.string().min(1).optional(),
  QUIRE_DATA_DIR: z.string().min(1).optional(),
  QUIRE_INTERNAL_SECRET: z.string().min(16, 'QUIRE_INTERNAL_SECRET must be at least 16 characters'),
  QUIRE_GATEWAY_URL: z.string().url(),
  // Benchmark runs as BullMQ jobs shared by every retrieval process; without it, in process.
  REDIS_URL: z.string().url().optional(),
  RETRIEVAL_PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  RETRIEVAL_HOST: z.string().default('127.0.0.1'),
});

async function main(): Promise<void> {
  const parsed = EnvSchema.safeParse(process.env);
  const logger = createLogger({ service: 'retrieval' });
  if (!parsed.success) {
    logger.error('bad configuration', { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
    process.exit(1);
  }
  const env = parsed.data;
  // Migrations belong to whoever owns the schema rollout; a second runner is safe (advisory lock).
  const db = await openDatabase({ ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}), ...(env.QUIRE_DATA_DIR ? { dataDir: env.QUIRE_DATA_DIR } : {}) });
  const service = await createRetrievalService({
    db,
    models: createHttpGatewayModels({ baseUrl: env.QUIRE_GATEWAY_URL }),
    logger,
    internalSecret: env.QUIRE_INTERNAL_SECRET,
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
  });
  const server = await listen(service.app, env.RETRIEVAL_PORT, env.RETRIEVAL_HOST);
  logger.info('retrieval listening', { url: server.url });
  const shutdown = async () => {
    await server.close();
    await service.stop();
    await db.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

void main();
