import { dropOrphanGraphs } from './index/hnsw-index.js';
import type { Express } from 'express';
import type { Db } from '@quire/db';
import type { GatewayModels } from '@quire/gateway-client';
import { createServiceApp, finishServiceApp, type Logger } from '@quire/server-kit';
import { createBullmqQueue, createInProcessQueue, type JobQueue } from '@quire/jobs';
import { createIngestDocumentHandler } from './jobs/ingest-document-handler.js';
import { ingestDocumentJob, type IngestDocumentPayload } from './jobs/ingest-document-job.js';
import { createReconciler } from './jobs/reconciler.js';
import type { PriceBook } from '@quire/models';
import { createProviderLimiter, createRedisProviderLimiter } from './embed/provider-semaphore.js';
import { createGraphMaintainer } from './index/graph-maintainer.js';
import { createKeywordIndexMaintainer, type KeywordIndexMaintainerDeps } from './index/keyword-index-maintainer.js';
import { JSON_BODY_MAX_BYTES, resolveLimits, type IngestionLimits } from './limits.js';
import { createParsePool } from './parse/parse-pool.js';
import { collectionsRoutes } from './routes/collections-routes.js';
import { documentRetryRoutes } from './routes/document-retry-routes.js';
import { documentsRoutes, uploadMemoryGate } from './routes/documents-routes.js';
import { createUploadMemory, hasUploadLease } from './upload/upload-memory.js';
import { indexVersionsRoutes } from './routes/index-versions-routes.js';
import { createIndexVersionBuilder } from './versions/index-version-builder.js';

/** The largest JSON body of a route that is not an upload (see the app's `jsonLimit`). */
export const SETTINGS_JSON_MAX_BYTES = 1024 * 1024;

export interface IngestionServiceDeps {
  db: Db;
  models: GatewayModels;
  logger: Logger;
  internalSecret: string;
  /** Set: jobs run on BullMQ (any number of processes). Unset: in this process. */
  redisUrl?: string;
  /**
   * This process is the only ingestion worker on its database (the all-in-one `pnpm start` without
   * Redis): a document found `processing` at start is an earlier process's, taken over at once instead
   * of after the stall limit. Ignored with Redis (workers share the queue). Default false: several
   * standalone processes without Redis could share one PostgreSQL.
   */
  soleWorker?: boolean;
  queueName?: string;
  /**
   * This deployment's namespace in a Redis database shared with others (QUIRE_REDIS_PREFIX): the queue's
   * keys go under `<namespace>:bull:`, the provider slots under `<namespace>:quire:sem:`. Unset: `bull:`
   * and `quire:sem:`, the keys of earlier versions.
   */
  redisNamespace?: string;
  limits?: Partial<IngestionLimits>;
  /** Prices for index-version cost estimates (default: the built-in catalog). */
  priceBook?: PriceBook;
  /** The background rebuild of stale keyword indexes (keyword-index-maintainer.ts): tests tune it. */
  keywordIndex?: Partial<Pick<KeywordIndexMaintainerDeps, 'batchChunks' | 'leaseMs' | 'afterBatch' | 'owner'>>;
}

export interface IngestionService {
  app: Express;
  /** Starts the job runner, then re-enqueues whatever a previous run left unfinished. */
  start(): Promise<void>;
  /** Stops the reconciler and the runner, waiting for running jobs. */
  stop(): Promise<void>;
  /** Exposed for tests and operators: one reconciler sweep now. */
  reconcile(): Promise<number>;
  /** Resolves once the background HNSW work it knows of is done (tests and benchmarks). */
  vectorGraphsIdle(): Promise<void>;
  /**
   * A collection's `search_settings.language` changed (retrieval commits it): its keyword index is
   * rebuilt in the background. Another process's change is found by the sweep (every `reconcileIntervalMs`).
   */
  keywordIndexChanged(collectionId: string): void;
  /** Resolves once the keyword-index rebuilds it knows of are done (tests). */
  keywordIndexIdle(): Promise<void>;
}

/** Chunks a keyword-index rebuild rewrites per transaction, and how long its lease outlives the last batch. */
const KEYWORD_REBUILD_BATCH = 200;
const KEYWORD_REBUILD_LEASE_MS = 120_000;

export async function createIngestionService(deps: IngestionServiceDeps): Promise<IngestionService> {
  const limits = resolveLimits(deps.limits);
  const logger = deps.logger;
  const retry = { attempts: limits.attempts, baseDelayMs: limits.retryBaseDelayMs };
  const queueName = deps.queueName ?? 'quire-ingestion';
  const queue: JobQueue<IngestDocumentPayload> = deps.redisUrl
    ? createBullmqQueue(ingestDocumentJob, {
        redisUrl: deps.redisUrl,
        queueName,
        ...(deps.redisNamespace ? { redisNamespace: deps.redisNamespace } : {}),
        concurrency: limits.concurrency,
        retry,
        logger,
      })
    : createInProcessQueue(ingestDocumentJob, { concurrency: limits.concurrency, retry, logger });
  const parsePool = createParsePool({
    size: limits.parseWorkers,
    timeoutMs: limits.parseTimeoutMs,
    chunkTimeoutMs: limits.chunkTimeoutMs,
    maxHeapMb: limits.parseHeapMb,
    limits: { maxPages: limits.maxPages, maxChars: limits.maxExtractedChars, maxZipEntries: limits.maxZipEntries, maxUncompressedBytes: limits.maxUncompressedBytes },
  });
  // On BullMQ several processes share the queue, so the per-provider bound is kept in Redis for all of them.
  const limiter = deps.redisUrl
    ? createRedisProviderLimiter({ redisUrl: deps.redisUrl, queueName, ...(deps.redisNamespace ? { redisNamespace: deps.redisNamespace } : {}), limit: limits.embedConcurrencyPerProvider, logger })
    : createProviderLimiter(limits.embedConcurrencyPerProvider);
  let activeJobs = 0;
  const graphs = createGraphMaintainer({ db: deps.db, logger, minVectors: limits.hnswMinVectors, sliceMs: limits.hnswSliceMs, busy: () => activeJobs > 0 });
  const keywordIndex = createKeywordIndexMaintainer({
    db: deps.db,
    logger,
    batchChunks: deps.keywordIndex?.batchChunks ?? KEYWORD_REBUILD_BATCH,
    leaseMs: deps.keywordIndex?.leaseMs ?? KEYWORD_REBUILD_LEASE_MS,
    sweepIntervalMs: limits.reconcileIntervalMs,
    busy: () => activeJobs > 0,
    ...(deps.keywordIndex?.afterBatch ? { afterBatch: deps.keywordIndex.afterBatch } : {}),
    ...(deps.keywordIndex?.owner ? { owner: deps.keywordIndex.owner } : {}),
  });
  const graph = { maxPending: limits.hnswMaxPending };
  const documentHandler = createIngestDocumentHandler({ db: deps.db, models: deps.models, logger, internalSecret: deps.internalSecret, limits, parsePool, limiter, graphs });
  const handler: typeof documentHandler = async (payload, context) => {
    activeJobs++;
    try {
      return await documentHandler(payload, context);
    } finally {
      activeJobs--;
    }
  };
  const builder = createIndexVersionBuilder({
    db: deps.db,
    models: deps.models,
    logger,
    internalSecret: deps.internalSecret,
    limiter,
    batchCap: limits.embedBatchCap,
    batchMaxTokens: limits.embedBatchMaxTokens,
    parsePool,
    maxChunks: limits.maxChunks,
    graph,
    graphs,
    // A build that makes no progress for as long as a document may is stalled; the reconciler's
    // cadence is how often other processes look for stalled builds to resume.
    leaseMs: limits.staleAfterMs,
    callTimeoutMs: limits.embedCallTimeoutMs,
    sweepIntervalMs: limits.reconcileIntervalMs,
  });
  const reconciler = createReconciler({
    db: deps.db,
    queue,
    logger,
    intervalMs: limits.reconcileIntervalMs,
    staleAfterMs: limits.staleAfterMs,
    deadAfterMs: limits.deadAfterMs,
    maxAttempts: limits.attempts,
    // Told so, and without Redis: this process's in-process queue is the only worker (see adoptOrphans in start).
    soleWorker: deps.soleWorker === true && !deps.redisUrl,
  });

  const app = createServiceApp({
    name: 'ingestion',
    logger,
    internalSecret: deps.internalSecret,
    // Side by side, so that a Redis outage answers 503 at once (ping is bounded) whatever the database takes.
    ready: async () => {
      await Promise.all([deps.db.query('SELECT 1'), queue.ping()]);
    },
    // Uploads (the routes whose room the upload memory took just before) read JSON text of up to
    // JSON_BODY_MAX_BYTES, the size the upload memory counts one sent without a length at. Every other
    // body is settings (a collection's name and description, at most 2,200 characters; an index
    // version's model and chunking), a few KiB at most, so it gets SETTINGS_JSON_MAX_BYTES: a caller
    // cannot make this process hold 25 MiB bodies the upload memory does not count.
    jsonLimit: (_req, res) => (hasUploadLease(res) ? JSON_BODY_MAX_BYTES : SETTINGS_JSON_MAX_BYTES),
    beforeBody: uploadMemoryGate(createUploadMemory(limits, logger)),
  });
  app.use(collectionsRoutes(deps.db, deps.models));
  app.use(documentsRoutes({ db: deps.db, queue, limits, logger, models: deps.models }));
  app.use(documentRetryRoutes({ db: deps.db, queue, logger, models: deps.models, limits }));
  app.use(indexVersionsRoutes({ db: deps.db, builder, ...(deps.priceBook ? { priceBook: deps.priceBook } : {}) }));
  finishServiceApp(app, logger);

  let started = false;
  return {
    app,
    async start() {
      if (started) return;
      started = true;
      // Graphs a stopped process left behind between deleting a version and dropping its index.
      // Housekeeping: a failure here must not keep the service from starting.
      await dropOrphanGraphs(deps.db).then(
        (orphans) => orphans > 0 && logger.info('dropped graph indexes of deleted index versions', { count: orphans }),
        (error: unknown) => logger.warn('could not look for graph indexes of deleted index versions', { err: String(error) }),
      );
      // Before the runner starts, so that every document found `processing` is an earlier process's
      // (a job enqueued already, by an upload answered before start, waits in the queue until then).
      // Failing, it leaves them to the stall limits, as with BullMQ.
      await reconciler.adoptOrphans().catch((error: unknown) => logger.warn('could not take over documents an earlier process left processing', { err: String(error) }));
      await queue.start(handler);
      await reconciler.start();
      await builder.resume();
      await graphs.resume();
      // Collections indexed by an older analyser, or with a language other than their settings' now
      // (rebuilt in the background: searchable meanwhile). Housekeeping: a failure must not stop the start.
      await keywordIndex.start().catch((error: unknown) => logger.warn('could not look for stale keyword indexes', { err: String(error) }));
    },
    async stop() {
      await keywordIndex.stop();
      await reconciler.stop();
      await builder.stop();
      await queue.stop();
      await graphs.stop();
      await parsePool.close();
      // Last: the jobs and builds above, which hold and wait for slots, have ended.
      await limiter.close();
      started = false;
    },
    reconcile: () => reconciler.sweep(true),
    vectorGraphsIdle: () => graphs.idle(),
    keywordIndexChanged: (collectionId) => keywordIndex.notify(collectionId),
    keywordIndexIdle: () => keywordIndex.idle(),
  };
}
