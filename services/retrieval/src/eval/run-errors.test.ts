/**
 * What a benchmark stores of the errors its cases and runs meet: the words a caller of the API would
 * get, never a provider's account details, another team's budget, or a database's text.
 */
import { openTestDatabase, type Db } from '@quire/db';
import { ProviderError } from '@quire/models';
import { AppError, createLogger } from '@quire/server-kit';
import { createBm25KeywordRetriever } from '../search/bm25-retriever.js';
import { createFakeGatewayModels, type FakeGatewayModels } from '../testing/fake-gateway-models.js';
import { DIMENSIONS, GARDEN_NOTES, HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';
import { getBenchmark, insertBenchmark, loadResults } from './benchmark-repo.js';
import { benchmarkView } from './benchmark-report.js';
import { BenchmarkRunner } from './benchmark-runner.js';
import { addCases, createEvalSet, type NewCase } from './eval-repo.js';
import type { StoredConfiguration } from './eval-schemas.js';
import { INTERNAL_RUN_ERROR, publicRunError, RUN_ERROR_MAX } from './run-errors.js';

const TEAM = 'team-run-errors';
const SECRET = 'test-secret-test-secret-test-secret-0123';
// An organisation admin's run: the gateway's refusals of it name the admin's team, not the collection's.
const IDENTITY = { team_id: 'default', key_id: 'key-org-admin', role: 'admin' as const, groups: [] };

const QUOTA = new ProviderError({
  code: 'provider_quota_exceeded',
  provider: 'openai',
  status: 429,
  message: 'You exceeded your current quota for organization org-Secret123 (tier 2, $500/month); check your plan and billing details.',
});
const BUDGET = new AppError('budget_exceeded', 'The monthly budget of team "default" ($2500) does not cover this request.');
const LONG = new ProviderError({ code: 'provider_bad_request', provider: 'openai', status: 400, message: `Invalid request: ${'x'.repeat(2000)}` });
const DATABASE = new Error('duplicate key value violates unique constraint "collections_team_name" Key (team_id, name)=(team-other, Payroll secrets)');

describe('publicRunError', () => {
  test.each([
    ['a provider account error keeps only its code\'s words', QUOTA, 'Provider "openai" reported that the quota or billing limit is exhausted.'],
    [
      'an adapter\'s own public message cannot pass an account\'s details on',
      new ProviderError({ code: 'provider_auth_failed', provider: 'openai', message: 'Incorrect API key provided: sk-proj-****abcd', publicMessage: 'Incorrect API key provided: sk-proj-****abcd' }),
      'Provider "openai" rejected the API key.',
    ],
    ['a provider account error the gateway client restored as an AppError', new AppError('provider_permission_denied', 'openai: project proj_123 may not use gpt-5'), 'The model provider denied permission (provider_permission_denied).'],
    ['a budget refusal names no team or limit', BUDGET, "A budget does not cover the run's model calls (budget_exceeded)."],
    ['a rate limit refusal names no limit', new AppError('rate_limit_exceeded', 'Rate limit of 60 requests per minute for this team reached; retry in 12 s.'), 'A rate limit was reached (rate_limit_exceeded).'],
    ['an allow-list refusal names no model list', new AppError('model_not_allowed', 'Key key-org-admin may use only: openai/gpt-4o, openai/o3'), "The run's key may not make this call (model_not_allowed)."],
    ['an internal AppError says only that it happened', new AppError('internal_error', 'relation "queries" does not exist'), INTERNAL_RUN_ERROR],
    ['an error that is not a service\'s says only that it happened', DATABASE, INTERNAL_RUN_ERROR],
    ['other service errors keep their words', new AppError('model_not_found', 'Unknown provider "nosuchprov" (configured: fake)'), 'Unknown provider "nosuchprov" (configured: fake)'],
    ['other provider errors keep their public words', new ProviderError({ code: 'provider_timeout', provider: 'gateway', message: 'rerank timed out' }), 'rerank timed out'],
  ])('%s', (_name, error, expected) => {
    expect(publicRunError(error)).toBe(expected);
  });

  test('provider and service text is capped', () => {
    const text = publicRunError(LONG);
    expect(text).toHaveLength(RUN_ERROR_MAX);
    expect(text.startsWith('Invalid request: xxx')).toBe(true);
    expect(publicRunError(new AppError('invalid_request', 'y'.repeat(5000)))).toHaveLength(RUN_ERROR_MAX);
  });
});

describe('a run stores and shows only public error text', () => {
  let db: Db;
  let seeded: SeededCollection;

  beforeAll(async () => {
    db = await openTestDatabase();
    seeded = await seedCollection(db, { teamId: TEAM, name: 'run errors', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE, GARDEN_NOTES] });
  });
  afterAll(async () => {
    await db?.close();
  });

  async function runToEnd(id: string, models: FakeGatewayModels, on: Db = db): Promise<void> {
    const deps = { db: on, models, keyword: createBm25KeywordRetriever(db), internalSecret: SECRET, logger: createLogger({}, 'error'), attempts: 1 };
    const queue = { enqueue: async (p: { benchmarkId: string }) => ({ jobId: `benchmark-${p.benchmarkId}` }) };
    const runner = new BenchmarkRunner(deps, queue as never);
    await (runner as unknown as { handle(id: string): Promise<void> }).handle(id);
  }

  const config = (name: string, extra: Partial<StoredConfiguration> = {}): StoredConfiguration => ({ name, mode: 'vector', top_k: 10, answer: false, resolved_index_version_id: seeded.indexVersionId, ...extra });
  const about = (question: string): NewCase => ({ question, relevant: [{ document_id: seeded.documentIds[0]!, grade: 1 }] });

  async function newRun(questions: string[], configurations: StoredConfiguration[]): Promise<string> {
    const setId = await createEvalSet(db, { teamId: TEAM, collectionId: seeded.collectionId, name: `set ${questions.length} ${configurations.map((c) => c.name).join(' ')}` });
    await db.transaction((tx) => addCases(tx, setId, questions.map(about)));
    return insertBenchmark(db, { teamId: TEAM, evalSetId: setId, collectionId: seeded.collectionId, configurations, judgeModel: null, budgetUsd: null, identity: IDENTITY });
  }

  test('per-case errors, the commonest errors and the run\'s failure hold no account, budget or database text', async () => {
    const models = createFakeGatewayModels(db, DIMENSIONS);
    const thrown: Record<string, unknown> = { quota: QUOTA, budget: BUDGET, long: LONG, database: DATABASE };
    models.rerank = (query) => {
      throw thrown[query.split(' ')[0]!];
    };
    const id = await newRun(['quota at the harbour', 'budget for ferries', 'long tide tables', 'database of moorings'], [config('broken', { rerank_model: 'fake/rerank' })]);

    await runToEnd(id, models);

    const stored = (await loadResults(db, id)).map((r) => r.error_message ?? '');
    expect(stored).toHaveLength(4);
    expect(new Set(stored)).toEqual(new Set([publicRunError(QUOTA), publicRunError(BUDGET), publicRunError(LONG), INTERNAL_RUN_ERROR]));
    const view = await benchmarkView(db, await getBenchmark(db, TEAM, id));
    expect(view.status).toBe('failed');
    const shown = JSON.stringify({ stored, error: view.error, messages: view.summary[0]!.error_messages });
    for (const secret of ['org-Secret123', '$500', '$2500', 'team "default"', 'team-other', 'Payroll', 'xxxxxxxxxx'.repeat(30)]) expect(shown).not.toContain(secret);
    expect(stored.every((m) => m.length <= RUN_ERROR_MAX)).toBe(true);
    expect(view.error).toContain('configuration "broken" failed on every case (4)');
    expect(view.error).toContain(publicRunError(BUDGET));
  });

  test("a run that fails outside its cases stores the public text, not the error's", async () => {
    const id = await newRun(['When is high tide?'], [config('vec')]);
    // The run's own reads fail (as a broken database connection would) with text naming another team's data.
    const failing = new Proxy(db, {
      get(target, prop) {
        if (prop === 'query') return (sql: string, params?: unknown[]) => (sql.includes('FROM benchmark_cases') ? Promise.reject(DATABASE) : target.query(sql, params));
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await runToEnd(id, createFakeGatewayModels(db, DIMENSIONS), failing);
    const b = await getBenchmark(db, TEAM, id);
    expect(b.status).toBe('failed');
    expect(b.error_message).toBe(INTERNAL_RUN_ERROR);
  });
});
