import type { Express } from 'express';
import type { Db } from '@quire/db';
import type { GatewayModels } from '@quire/gateway-client';
import { createServiceApp, finishServiceApp, type Logger } from '@quire/server-kit';
import { answerRoutes } from './routes/answer-routes.js';
import { evalModule } from './eval/index.js';
import { chatRoutes } from './routes/chat-routes.js';
import { createQueryRetention } from './queries/query-retention.js';
import { conversationRoutes } from './routes/conversation-routes.js';
import { queryRoutes } from './routes/query-routes.js';
import { searchRoutes } from './routes/search-routes.js';
import { createBm25KeywordRetriever } from './search/bm25-retriever.js';
import type { KeywordRetriever } from './search/keyword-retriever.js';

export interface RetrievalServiceDeps {
  db: Db;
  models: GatewayModels;
  logger: Logger;
  internalSecret: string;
  /** Replaceable keyword leg; defaults to Okapi BM25 over `@quire/keyword-index` postings. */
  keyword?: KeywordRetriever;
  /** Benchmark runs go to BullMQ on this Redis (several retrieval processes share them); without it they run in process. */
  redisUrl?: string;
  /** The benchmark queue's name (default `quire-benchmarks`). */
  queueName?: string;
  /** This deployment's namespace in a shared Redis database (QUIRE_REDIS_PREFIX): the queue's keys go under `<namespace>:bull:` instead of `bull:`. */
  redisNamespace?: string;
  /**
   * Hosts answers may link to besides URLs in their sources (an intranet, a ticket system): other
   * links a model writes are removed, since a prompt-injected document could make it link out with
   * data in the URL (`QUIRE_ANSWER_LINK_HOSTS`, comma-separated; a host also admits its subdomains).
   */
  answerLinkHosts?: string[];
  /**
   * Days stored queries, their feedback and conversation turns are kept (`QUIRE_QUERY_RETENTION_DAYS`);
   * a background sweep deletes older ones. Unset: kept until deleted (`DELETE /v1/queries/:id`,
   * `DELETE /v1/conversations/:id`, or with their collection).
   */
  queryRetentionDays?: number;
  /**
   * Told after a collection's `search_settings.language` change commits, so its keyword index is
   * rebuilt at once: the embedded mode passes ingestion's `keywordIndexChanged`. Unset (services run
   * apart), ingestion's sweep finds the collection within its `reconcileIntervalMs`.
   */
  keywordIndexChanged?: (collectionId: string) => void;
}

export interface RetrievalService {
  app: Express;
  stop(): Promise<void>;
}

/** The retrieval service's express app. The caller owns the database and the listening server. */
export async function createRetrievalService(deps: RetrievalServiceDeps): Promise<RetrievalService> {
  const app = createServiceApp({
    name: 'retrieval',
    logger: deps.logger,
    internalSecret: deps.internalSecret,
    ready: async () => {
      await deps.db.query('SELECT 1');
      await evaluation.runner.ping();
    },
  });
  const searchDeps = { db: deps.db, models: deps.models, keyword: deps.keyword ?? createBm25KeywordRetriever(deps.db), ...(deps.answerLinkHosts ? { answerLinkHosts: deps.answerLinkHosts } : {}) };
  app.use(searchRoutes(searchDeps));
  app.use(answerRoutes(searchDeps, deps.logger));
  app.use(chatRoutes(searchDeps, deps.logger));
  app.use(queryRoutes(deps.db, deps.keywordIndexChanged ? { keywordIndexChanged: deps.keywordIndexChanged } : {}));
  app.use(conversationRoutes(deps.db));
  // Evaluation: eval sets, benchmark runs (resumed at start-up), replay, promotion gate, quality.
  const evaluation = evalModule({
    search: searchDeps, internalSecret: deps.internalSecret, logger: deps.logger.child({ component: 'eval' }),
    ...(deps.redisUrl ? { redisUrl: deps.redisUrl } : {}), ...(deps.queueName ? { queueName: deps.queueName } : {}),
    ...(deps.redisNamespace ? { redisNamespace: deps.redisNamespace } : {}),
  });
  app.use(evaluation.router);
  finishServiceApp(app, deps.logger);
  const retention = deps.queryRetentionDays ? createQueryRetention({ db: deps.db, logger: deps.logger, days: deps.queryRetentionDays }) : null;
  retention?.start();
  return {
    app,
    // The benchmark runner lets its case in flight go; its run's job goes back to the queue. The
    // retention sweep stops after its batch in flight (each batch is its own transaction).
    stop: async () => {
      await Promise.all([evaluation.runner.stop(), retention?.stop()]);
    },
  };
}
