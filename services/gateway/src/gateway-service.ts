import express, { type Express } from 'express';
import type { Db } from '@quire/db';
import { createServiceApp, finishServiceApp, handle, type Logger } from '@quire/server-kit';
import { callerIdentity } from './caller-identity.js';
import { Ledger } from './ledger.js';
import { chatCompletionsHandler } from './model-api/chat-completions.js';
import { embeddingsHandler } from './model-api/embeddings.js';
import { ModelService, type ModelCatalog, type RetryPolicy } from './model-service.js';
import { platformRouter, type PlatformUpstreams } from './platform-proxy.js';

export interface GatewayDeps {
  db: Db;
  catalog: ModelCatalog & { listModels(): { id: string; owned_by: string }[] };
  logger: Logger;
  internalSecret: string;
  upstreams: PlatformUpstreams;
  retry?: RetryPolicy;
}

/** The one public door: the OpenAI-compatible model API, and the platform API forwarded to the services. */
export function createGatewayService(deps: GatewayDeps): { app: Express; models: ModelService } {
  const ledger = new Ledger(deps.db, deps.logger);
  const models = new ModelService(deps.catalog, ledger, deps.logger, deps.retry);
  const app = createServiceApp({
    name: 'gateway',
    logger: deps.logger,
    json: false,
    ready: async () => {
      await deps.db.query('SELECT 1');
    },
  });
  app.use(callerIdentity(deps.internalSecret));
  // Platform routes stream their bodies straight to the services, so they come before any body parser.
  app.use(platformRouter(deps.upstreams, deps.internalSecret));

  const modelApi = express.Router();
  modelApi.use(express.json({ limit: '20mb' }));
  modelApi.get('/v1/models', (_req, res) => {
    res.json({ object: 'list', data: deps.catalog.listModels().map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.owned_by })) });
  });
  modelApi.post('/v1/chat/completions', handle(chatCompletionsHandler(models)));
  modelApi.post('/v1/embeddings', handle(embeddingsHandler(models)));
  app.use(modelApi);
  return { app: finishServiceApp(app, deps.logger), models };
}
