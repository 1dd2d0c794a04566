/**
 * One ingestion worker process for the cross-process tests: PostgreSQL wire protocol (PGlite behind
 * pglite-socket), jobs from a shared BullMQ queue, a slow fake embedder. Prints `ready` when it
 * takes jobs and `embed <document> <n>` for every provider call.
 */
import { openPostgres } from '@quire/db';
import { createFakeGatewayModels } from '@quire/fakes';
import { createLogger } from '@quire/server-kit';
import { createIngestionService } from '../../services/ingestion/src/index.js';

const env = process.env;
const db = openPostgres(env.DATABASE_URL!, { max: 3 });
const fake = createFakeGatewayModels({ dimensions: 16, maxEmbeddingsPerCall: 4, latencyMs: Number(env.EMBED_LATENCY_MS ?? 200) });
const models = {
  ...fake,
  embeddingModel: (name: string, context: Parameters<typeof fake.embeddingModel>[1]) => {
    const model = fake.embeddingModel(name, context);
    return {
      ...model,
      async doEmbed(options: Parameters<typeof model.doEmbed>[0]) {
        const result = await model.doEmbed(options);
        process.stdout.write(`embed ${context.documentId ?? '-'} ${options.values.length}\n`);
        return result;
      },
    };
  },
};
const service = await createIngestionService({
  db,
  models,
  logger: createLogger({ worker: process.pid }, 'error'),
  internalSecret: env.QUIRE_INTERNAL_SECRET!,
  redisUrl: env.REDIS_URL!,
  queueName: env.QUEUE!,
  limits: { staleAfterMs: Number(env.STALE_AFTER_MS ?? 2000), reconcileIntervalMs: 500, concurrency: 1, parseWorkers: 1 },
});
await service.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void service.stop().then(() => process.exit(0)));
