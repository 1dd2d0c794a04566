/**
 * Quire in one process: the three services, each its own express app on its own port, sharing one
 * database. PGlite allows one process per data folder, so the embedded mode composes the services
 * here instead of running three processes; with DATABASE_URL each service can also run alone
 * (services/<name>/src/main.ts).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { openDatabase, type Db } from '@quire/db';
import { createHttpGatewayModels } from '@quire/gateway-client';
import { catalogFromEnv, createGatewayService, governanceRedisOf, imageTokensOf, readGatewayEnv } from '@quire/gateway';
import { createIngestionService, readIngestionEnv } from '@quire/ingestion';
import { createRetrievalService, readRetrievalEnv } from '@quire/retrieval';
import { createLogger, listen, listenOptionsOf, type Logger, type RunningServer } from '@quire/server-kit';
import { bindPublicPort } from './public-port.js';

export { PortInUseError } from './public-port.js';

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides QUIRE_PORT (0 picks a free port, for tests). */
  port?: number;
  /** An already open database (tests pass a template copy); otherwise opened from env. */
  db?: Db;
  /** BullMQ queue name, unique per test run so parallel runs never share jobs. */
  queueName?: string;
  logger?: Logger;
}

export interface RunningQuire {
  url: string;
  db: Db;
  stop(): Promise<void>;
}

export async function startQuire(options: StartOptions = {}): Promise<RunningQuire> {
  const env = options.env ?? process.env;
  // Each service's settings, read as its standalone main.ts reads them (less what only the standalone service
  // needs: DATABASE_URL and QUIRE_INTERNAL_SECRET). A bad value stops the start, before anything is opened, with
  // a ConfigError (code `<service>_config_invalid`, naming the variables).
  const gatewayEnv = readGatewayEnv(env);
  const ingestionEnv = readIngestionEnv(env);
  const retrievalEnv = readRetrievalEnv(env);
  const logger = options.logger ?? createLogger({ app: 'quire' });
  const gatewayLogger = logger.child({ service: 'gateway' });
  // Bound before anything is opened or created: a port in use must stop a first start before it makes
  // (and prints, once) the admin key. Requests are answered 503 until the gateway is ready.
  const publicPort = await bindPublicPort(options.port ?? gatewayEnv.QUIRE_PORT, gatewayEnv.QUIRE_HOST, listenOptionsOf(gatewayEnv, gatewayLogger));
  const gateway = publicPort.server;
  const dataDir = gatewayEnv.QUIRE_DATA_DIR ?? './.quire';
  const db =
    options.db ??
    (await openDatabase({ databaseUrl: gatewayEnv.DATABASE_URL, dataDir }).catch(async (error: unknown) => {
      // The data folder is in use, say: the port is let go too, so whoever handles the error can start again.
      await gateway.close();
      throw error;
    }));
  // Only this process signs and verifies identities in the embedded mode, so a fresh secret will do.
  const internalSecret = gatewayEnv.QUIRE_INTERNAL_SECRET ?? randomBytes(32).toString('hex');

  const models = createHttpGatewayModels({ baseUrl: () => gateway.url });
  const ingestion = await createIngestionService({
    db, models, internalSecret, logger: logger.child({ service: 'ingestion' }), limits: ingestionEnv.limits,
    ...(ingestionEnv.REDIS_URL ? { redisUrl: ingestionEnv.REDIS_URL } : {}), ...(options.queueName ? { queueName: options.queueName } : {}),
    ...(ingestionEnv.QUIRE_REDIS_PREFIX ? { redisNamespace: ingestionEnv.QUIRE_REDIS_PREFIX } : {}),
    // One process holds the data folder: without Redis its in-process queue is the only worker.
    soleWorker: !ingestionEnv.REDIS_URL,
  });
  const retrieval = await createRetrievalService({
    db, models, internalSecret, logger: logger.child({ service: 'retrieval' }),
    ...(retrievalEnv.REDIS_URL ? { redisUrl: retrievalEnv.REDIS_URL } : {}), ...(options.queueName ? { queueName: `${options.queueName}-benchmarks` } : {}),
    ...(retrievalEnv.QUIRE_REDIS_PREFIX ? { redisNamespace: retrievalEnv.QUIRE_REDIS_PREFIX } : {}),
    ...(retrievalEnv.QUIRE_ANSWER_LINK_HOSTS ? { answerLinkHosts: retrievalEnv.QUIRE_ANSWER_LINK_HOSTS } : {}),
    ...(retrievalEnv.QUIRE_QUERY_RETENTION_DAYS ? { queryRetentionDays: retrievalEnv.QUIRE_QUERY_RETENTION_DAYS } : {}),
    // A language change rebuilds the collection's keyword index in ingestion at once.
    keywordIndexChanged: (collectionId) => ingestion.keywordIndexChanged(collectionId),
  });
  const servers: RunningServer[] = [];
  // QUIRE_SSE_STALL_MS holds for the streams the gateway relays from them too.
  servers.push(await listen(ingestion.app, 0, '127.0.0.1', { sseStallMs: gatewayEnv.QUIRE_SSE_STALL_MS }));
  servers.push(await listen(retrieval.app, 0, '127.0.0.1', { sseStallMs: gatewayEnv.QUIRE_SSE_STALL_MS }));
  const { handler, ledger, governance } = createGatewayService({
    db,
    catalog: catalogFromEnv(gatewayEnv, gatewayLogger, env),
    logger: gatewayLogger,
    internalSecret,
    upstreams: { ingestionUrl: servers[0]!.url, retrievalUrl: servers[1]!.url },
    routesFile: gatewayEnv.QUIRE_ROUTES_FILE ?? null,
    // The ledger journals rows in the data folder and commits them in the background (tests pass their own db: no journal).
    ...(options.db ? {} : { ledger: { journalDir: path.join(dataDir, 'ledger-journal') } }),
    // API keys: QUIRE_ADMIN_KEY is the bootstrap admin key; without it a first start prints a new one once.
    governance: {
      adminKey: gatewayEnv.QUIRE_ADMIN_KEY || undefined,
      ...governanceRedisOf(gatewayEnv),
      ...(gatewayEnv.QUIRE_BUDGET_DEFAULT_MAX_OUTPUT_TOKENS ? { defaultMaxOutputTokens: gatewayEnv.QUIRE_BUDGET_DEFAULT_MAX_OUTPUT_TOKENS } : {}),
      allowUnpriced: gatewayEnv.QUIRE_BUDGETS_ALLOW_UNPRICED,
      imageTokens: imageTokensOf(gatewayEnv),
    },
  });
  await governance.ready;
  publicPort.serve(handler);
  servers.push(gateway);
  await ingestion.start();
  logger.info('Quire is up', {
    url: gateway.url,
    database: db.kind === 'pglite' ? `PGlite in ${dataDir}` : 'PostgreSQL',
    jobs: ingestionEnv.REDIS_URL ? 'BullMQ on Redis' : 'in-process',
  });
  return {
    url: gateway.url,
    db,
    async stop() {
      // Ingestion first: its running jobs embed through the gateway, which still listens meanwhile.
      await ingestion.stop();
      await gateway.close();
      await retrieval.stop();
      await Promise.all(servers.slice(0, 2).map((s) => s.close()));
      await ledger.close();
      await governance.close();
      if (!options.db) await db.close();
    },
  };
}
