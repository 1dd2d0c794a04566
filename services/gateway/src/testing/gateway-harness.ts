import type { Db } from '@quire/db';
import { createModelRegistry, createPriceBook, type ModelPrice, type ProvidersConfig, type RerankingModelV1 } from '@quire/models';
import { createLogger, listen, signIdentity, type RunningServer } from '@quire/server-kit';
import type { Identity } from '@quire/contracts';
import { createGatewayService, type GatewayDeps } from '../gateway-service.js';
import { createModelCatalog } from '../model-catalog.js';
import type { ModelService } from '../model-service.js';
import { formatKey } from '../governance/key-format.js';
import { scopedFetch } from '../routing/attempt-timer.js';

export const SECRET = 'test-secret-test-secret-test-secret-0123';
export const logger = createLogger({ test: 'gateway' }, 'error');
/** The bootstrap admin key of every test gateway (QUIRE_ADMIN_KEY in production). */
export const TEST_ADMIN_KEY_ID = 'TestAdmin001';
export const TEST_ADMIN_KEY = formatKey(TEST_ADMIN_KEY_ID, 'TestSecretTestSecretTestSecret01');
export const ADMIN_AUTH: Record<string, string> = { authorization: `Bearer ${TEST_ADMIN_KEY}` };

export interface Harness {
  url: string;
  models: ModelService;
  post(path: string, body: unknown, headers?: Record<string, string>, signal?: AbortSignal): Promise<Response>;
  close(): Promise<void>;
}

/** A gateway over the given providers (each a fake's URL), prices and routes; rerankers injected by name. */
export async function startHarness(
  db: Db,
  options: {
    providers: Record<string, string>;
    /** Providers of other types (cohere, tei, ...), as configured in QUIRE_PROVIDERS_JSON. */
    providerConfigs?: ProvidersConfig;
    prices?: Record<string, Partial<ModelPrice> & { input: string; output: string }>;
    routes?: string;
    rerankers?: Record<string, RerankingModelV1>;
    extra?: Partial<GatewayDeps>;
  },
): Promise<Harness> {
  const config: ProvidersConfig = {};
  for (const [name, url] of Object.entries(options.providers)) config[name] = { type: 'openai-compatible', baseURL: url, apiKey: 'sk-test', allowLoopback: true };
  Object.assign(config, options.providerConfigs);
  const registry = createModelRegistry(config, { fetch: scopedFetch });
  const prices = Object.fromEntries(Object.entries(options.prices ?? {}).map(([k, p]) => [k, { asOf: 'test', source: 'test', ...p }]));
  const base = createModelCatalog(registry, createPriceBook(prices), logger);
  const catalog = {
    ...base,
    rerankingModel: (name: string) => options.rerankers?.[name] ?? base.rerankingModel(name),
    resolveProblem: (name: string) => (options.rerankers?.[name] ? null : base.resolveProblem(name)),
  };
  const { handler, models, governance } = createGatewayService({
    db, catalog, logger, internalSecret: SECRET,
    upstreams: { ingestionUrl: 'http://127.0.0.1:9', retrievalUrl: 'http://127.0.0.1:9' },
    retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
    routesFile: null,
    ...(options.routes !== undefined ? { routes: options.routes } : {}),
    ...options.extra,
    governance: { adminKey: TEST_ADMIN_KEY, ...options.extra?.governance },
  });
  const server: RunningServer = await listen(handler, 0);
  return {
    url: server.url,
    models,
    post: (path, body, headers = {}, signal) =>
      fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...ADMIN_AUTH, ...headers }, body: JSON.stringify(body), ...(signal ? { signal } : {}) }),
    close: async () => {
      await server.close();
      await governance.close();
    },
  };
}

export function identityHeader(identity: Partial<Identity> & { team_id: string }): Record<string, string> {
  return { 'x-quire-identity': signIdentity({ key_id: 'key-test', role: 'member', groups: [], ...identity }, SECRET) };
}

export interface LedgerRow {
  status: string;
  provider: string;
  model: string;
  route: string | null;
  attempt: number;
  error_code: string | null;
  cost_usd: string | null;
  input_tokens: number;
  output_tokens: number;
  usage_reported: boolean;
  route_reason: string | null;
  fallback_from: string | null;
  capability: string;
  stream: boolean;
  search_units: number;
  latency_ms: number;
}

export async function ledgerFor(db: Db, traceId: string): Promise<LedgerRow[]> {
  const r = await db.query<LedgerRow>(
    `SELECT status, provider, model, route, attempt, error_code, cost_usd::text AS cost_usd, input_tokens, output_tokens, usage_reported,
            route_reason, fallback_from, capability, stream, search_units, latency_ms
       FROM usage_ledger WHERE trace_id = $1 ORDER BY id`,
    [traceId],
  );
  return r.rows;
}

/** Data payloads of an SSE body, `[DONE]` included. */
export function sseEvents(text: string): string[] {
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((e) => e.replace(/^data: /, ''));
}

/** Exact decimal of n micro-dollars, as Postgres prints numeric(24,12). */
export const micros = (n: number) => (n / 1e6).toFixed(12);
