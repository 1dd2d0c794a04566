import type { RequestListener } from 'node:http';
import express, { type Express } from 'express';
import type { Db } from '@quire/db';
import { AppError, createServiceApp, finishServiceApp, handle, type Logger, exactRouter } from '@quire/server-kit';
import { budgetsAuditRouter } from './admin/budgets-audit-api.js';
import { routesAdminRouter } from './admin/routes-api.js';
import { teamsKeysRouter } from './admin/teams-keys-api.js';
import { callerIdentity } from './caller-identity.js';
import { budgetCheckRouter } from './governance/budget-check.js';
import { Governance, type GovernanceOptions } from './governance/governance.js';
import { rerankBillingOf } from './governance/rerank-billing.js';
import { modelGuard, platformGuard, platformRateLimit, refusalAudit, upstreamRefusalAudit } from './governance/guards.js';
import { Ledger, type LedgerOptions } from './ledger.js';
import { providerCodedErrors } from './model-errors.js';
import { bodyDepthGuard } from './model-api/body-depth.js';
import { chatCompletionsHandler } from './model-api/chat-completions.js';
import { embeddingsHandler } from './model-api/embeddings.js';
import { createModelFront } from './model-api/model-front.js';
import { rerankHandler } from './model-api/rerank.js';
import { responsesHandler } from './model-api/responses.js';
import { ModelService, type ModelCatalog, type RetryPolicy } from './model-service.js';
import type { ModelResolver } from './model-catalog.js';
import { platformRouter, type PlatformUpstreams } from './platform-proxy.js';
import type { BudgetProbe } from './routing/budget-probe.js';
import { loadRoutesFile, parseRoutesText, type Route } from './routing/route-config.js';
import { RouteStore } from './routing/route-store.js';
import { usageRouter } from './usage/usage-api.js';

export interface GatewayDeps {
  db: Db;
  catalog: ModelCatalog & ModelResolver & {
    listModels(): { id: string; owned_by: string }[];
    providerNames(): string[];
    /** Whether a model's provider is self-hosted (free to budgets when unpriced); absent: none is. */
    selfHosted?(name: string): boolean;
  };
  logger: Logger;
  internalSecret: string;
  upstreams: PlatformUpstreams;
  /** Retries of direct `provider/model` calls; routes carry their own. */
  retry?: RetryPolicy;
  /** Routes file (YAML or JSON): QUIRE_ROUTES_FILE as readGatewayEnv read it; absent or null means none. */
  routesFile?: string | null;
  /** Routes given inline (YAML/JSON text or parsed), used instead of a file (tests, embedding). */
  routes?: string | Map<string, Route>;
  /** How stale this process's copy of the database routes may get (other processes' admin changes). */
  routesRefreshMs?: number;
  /** Budget used by routes with a `downgrade`; the default knows no budgets. */
  budgetProbe?: BudgetProbe;
  /** The ledger's write-ahead journal (`journalDir`, normally `$QUIRE_DATA_DIR/ledger-journal`); none: every row is committed before the response. */
  ledger?: LedgerOptions;
  /** API keys, budgets, rate limits: the bootstrap admin key, Redis for shared counters, cache TTL. */
  governance?: Pick<GovernanceOptions, 'adminKey' | 'redisUrl' | 'redisPrefix' | 'cacheTtlMs' | 'print' | 'defaultMaxOutputTokens' | 'allowUnpriced' | 'imageTokens'>;
}

function fileRoutes(deps: GatewayDeps): Map<string, Route> {
  if (deps.routes !== undefined) return typeof deps.routes === 'string' ? parseRoutesText(deps.routes) : deps.routes;
  const file = deps.routesFile;
  if (!file) return new Map();
  const routes = loadRoutesFile(file);
  deps.logger.info('routes loaded', { file, routes: [...routes.keys()] });
  return routes;
}

export interface GatewayService {
  /** What to listen with: the model API on node:http directly, everything else through `app`. */
  handler: RequestListener;
  /** The express app alone (it serves the model API too, with more overhead per call). */
  app: Express;
  models: ModelService;
  routes: RouteStore;
  ledger: Ledger;
  governance: Governance;
}

/** The one public door: the OpenAI-compatible model API, and the platform API forwarded to the services. */
export function createGatewayService(deps: GatewayDeps): GatewayService {
  const routes = new RouteStore(deps.db, fileRoutes(deps), deps.logger, deps.routesRefreshMs);
  const catalog = deps.catalog;
  const selfHosted = catalog.selfHosted ? (name: string) => catalog.selfHosted!(name) : undefined;
  const governance = new Governance({
    db: deps.db, logger: deps.logger, costOf: (n, u) => catalog.costOf(n, u), routes, ...(selfHosted ? { selfHosted } : {}), rerankBillingOf: rerankBillingOf(catalog), ...deps.governance,
  });
  void governance.ready.catch((error: unknown) => deps.logger.error('governance bootstrap failed', { err: String(error) }));
  const ledger = governance.ledger(deps.db, deps.logger, deps.ledger);
  const models = new ModelService(deps.catalog, ledger, deps.logger, deps.retry, { routes, budget: deps.budgetProbe ?? governance });
  const app = createServiceApp({
    name: 'gateway',
    logger: deps.logger,
    json: false,
    // With budgets and rate limits in Redis, a replica that cannot reach it refuses every governed
    // call, so it is not ready either.
    ready: async () => {
      await Promise.all([deps.db.query('SELECT 1'), governance.counters.ping()]);
    },
  });
  app.use(callerIdentity(deps.internalSecret, governance));
  app.use(teamsKeysRouter(governance), budgetsAuditRouter(governance), platformGuard());
  // Platform routes stream their bodies straight to the services, so they come before any body parser.
  // They share the model API's rate limits, and the refusals the services raise are audited here.
  app.use(platformRouter(deps.upstreams, deps.internalSecret, { admit: platformRateLimit(governance), onUpstreamError: upstreamRefusalAudit(governance) }));

  const modelApi = exactRouter();
  modelApi.use(express.json({ limit: '20mb' }), bodyDepthGuard(), modelGuard(governance));
  const listModels = async () => {
    const listed = (await routes.list()).map((r) => ({ id: r.name, owned_by: 'quire-route' }));
    return [...listed, ...deps.catalog.listModels()].map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.owned_by }));
  };
  modelApi.get('/v1/models', handle(async (_req, res) => {
    // `providers` beside OpenAI's list shape (clients read `data`): configured providers serve models the list does not name.
    res.json({ object: 'list', data: await listModels(), providers: deps.catalog.providerNames() });
  }));
  // OpenAI SDKs' `models.retrieve(id)`: ids hold a slash (`openai/gpt-4o-mini`), sent as is or as %2F.
  modelApi.get('/v1/models/*id', handle(async (req, res) => {
    const segments = (req.params as { id?: string | string[] }).id ?? [];
    const id = Array.isArray(segments) ? segments.join('/') : segments;
    const model = (await listModels()).find((m) => m.id === id);
    if (!model) throw new AppError('model_not_found', `The model "${id}" does not exist or is not offered here.`, { param: 'model' });
    res.json(model);
  }));
  modelApi.post('/v1/chat/completions', handle(chatCompletionsHandler(models)));
  modelApi.post('/v1/embeddings', handle(embeddingsHandler(models)));
  modelApi.post('/v1/rerank', handle(rerankHandler(models)));
  modelApi.post('/v1/responses', handle(responsesHandler(models)));
  modelApi.use(budgetCheckRouter(governance));
  modelApi.use(routesAdminRouter(routes, deps.catalog, governance.audit));
  modelApi.use(usageRouter(deps.db));
  app.use(modelApi);
  app.use(refusalAudit(governance));
  // A provider's own OpenAI error code for a request's fault, as the model front answers it (model-errors.ts).
  app.use(providerCodedErrors());
  finishServiceApp(app, deps.logger);
  const handler = createModelFront({ models, governance, internalSecret: deps.internalSecret, logger: deps.logger, next: app });
  return { handler, app, models, routes, ledger, governance };
}
