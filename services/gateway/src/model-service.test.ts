import type { Identity } from '@quire/contracts';
import { emptyUsage, providerErrorFromResponse, type GenerateResultV1, type StreamPartV1 } from '@quire/models';
import { AppError, createLogger, type Logger } from '@quire/server-kit';
import type { Attribution, Ledger, LedgerEntry } from './ledger.js';
import { ModelService, type ModelCatalog } from './model-service.js';
import { parseRoutesText } from './routing/route-config.js';
import type { RouteStore } from './routing/route-store.js';

/**
 * The attempt loop through ModelService, over scripted models (no HTTP): circuits, retry-after,
 * backoff and client aborts, ledger failures, empty streams.
 */

const identity: Identity = { team_id: 'team-m', key_id: 'key-m', role: 'member', groups: [] };
const attribution = (traceId = 't'): Attribution => ({ traceId, identity, purpose: 'api' });
const options = { messages: [{ role: 'user' as const, content: 'hi' }] };
const OK: GenerateResultV1 = { text: 'ok', toolCalls: [], finishReason: 'stop', usage: { ...emptyUsage(true), inputTokens: 1, outputTokens: 1 } } as unknown as GenerateResultV1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Behaviour = () => Promise<GenerateResultV1>;
type StreamBehaviour = () => StreamPartV1[];

interface Setup {
  routes: string;
  generate?: Record<string, Behaviour>;
  stream?: Record<string, StreamBehaviour>;
  record?: (entry: LedgerEntry) => Promise<void>;
  logger?: Logger;
}

function service(setup: Setup) {
  const routes = parseRoutesText(setup.routes);
  const calls: string[] = [];
  const rows: LedgerEntry[] = [];
  const catalog = {
    generationModel: (name: string) => ({
      doGenerate: async () => {
        calls.push(name);
        return setup.generate![name]!();
      },
      doStream: async () => {
        calls.push(name);
        const parts = setup.stream![name]!();
        return { stream: (async function* () { yield* parts; })() };
      },
    }),
    embeddingModel: () => {
      throw new Error('not in this test');
    },
    rerankingModel: () => {
      throw new Error('not in this test');
    },
    costOf: () => '0.000001',
  } as unknown as ModelCatalog;
  const ledger = {
    record: async (entry: LedgerEntry) => {
      rows.push(entry);
      await setup.record?.(entry);
    },
  } as unknown as Ledger;
  const store = { get: async (name: string) => routes.get(name) } as unknown as RouteStore;
  const models = new ModelService(catalog, ledger, setup.logger ?? createLogger({ test: 'model-service' }, 'error'), undefined, { routes: store });
  return { models, calls, rows };
}

const refused = (status: number, headers: Record<string, string> = {}) => () => Promise.reject(providerErrorFromResponse('p', status, headers, {}));

describe('every circuit of a route open', () => {
  test('requests fail fast with 503 and Retry-After; once cooled down one probe goes through and the rest still fail fast', async () => {
    let healthy = false;
    const { models, calls } = service({
      routes: `routes:
  one:
    targets: [p/m]
    retry: { maxAttempts: 1 }
    circuitBreaker: { failureThreshold: 1, cooldownMs: 300 }
`,
      generate: { 'p/m': async () => (healthy ? (await sleep(30), OK) : refused(503)()) },
    });
    await expect(models.generate('one', options, attribution())).rejects.toMatchObject({ code: 'provider_overloaded' });
    expect(calls).toHaveLength(1);

    const open = await Promise.allSettled(Array.from({ length: 20 }, () => models.generate('one', options, attribution())));
    expect(calls).toHaveLength(1);
    for (const r of open) {
      const error = (r as PromiseRejectedResult).reason as AppError;
      expect(error).toMatchObject({ code: 'service_unavailable', status: 503, details: { retryable: true } });
      expect(error.message).toMatch(/circuit/);
      expect(Number(error.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
    }

    await sleep(320);
    healthy = true;
    const halfOpen = await Promise.allSettled(Array.from({ length: 20 }, () => models.generate('one', options, attribution())));
    expect(calls).toHaveLength(2);
    expect(halfOpen.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(halfOpen.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(Array(19).fill('service_unavailable'));
    // The probe succeeded: the circuit is closed again.
    await models.generate('one', options, attribution());
    expect(calls).toHaveLength(3);
  });
});

describe('a ledger that cannot write', () => {
  test('does not fail a billed success, nor stop a failed attempt from falling back; each lost write is logged', async () => {
    const errors: string[] = [];
    const logger = { ...createLogger({ test: 'model-service' }, 'error'), error: (msg: string) => void errors.push(msg) };
    const failing = service({
      routes: `routes:
  ha:
    targets: [p/m, q/m]
    retry: { maxAttempts: 1 }
`,
      generate: { 'p/m': async () => OK, 'q/m': async () => OK },
      record: async () => {
        throw new Error('database is down');
      },
      logger,
    });
    await expect(failing.models.generate('ha', options, attribution())).resolves.toMatchObject({ text: 'ok' });
    expect(failing.calls).toEqual(['p/m']);

    const fallback = service({
      routes: `routes:
  ha:
    targets: [p/m, q/m]
    retry: { maxAttempts: 1 }
`,
      generate: { 'p/m': refused(500), 'q/m': async () => OK },
      record: async () => {
        throw new Error('database is down');
      },
      logger,
    });
    await expect(fallback.models.generate('ha', options, attribution())).resolves.toMatchObject({ text: 'ok' });
    expect(fallback.calls).toEqual(['p/m', 'q/m']);
    expect(fallback.rows.map((r) => [r.provider, r.status])).toEqual([['p', 'error'], ['q', 'ok']]);
    expect(errors).toEqual(['ledger row not recorded', 'ledger row not recorded', 'ledger row not recorded']);
  });
});

describe('a retry-after longer than the route waits', () => {
  const ROUTES = `routes:
  one:
    targets: [p/m]
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 5000 }
  two:
    targets: [p/m, q/m]
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 5000 }
`;

  test('is not retried on the same target: the client gets the 429 and the hint as Retry-After', async () => {
    const { models, calls } = service({ routes: ROUTES, generate: { 'p/m': refused(429, { 'retry-after': '3600' }) } });
    const error = (await models.generate('one', options, attribution()).catch((e: unknown) => e)) as AppError;
    expect(calls).toEqual(['p/m']);
    expect(error).toMatchObject({ code: 'provider_rate_limited', status: 429, headers: { 'retry-after': '3600' } });
  });

  test('sends the request to the next target at once', async () => {
    const { models, calls } = service({ routes: ROUTES, generate: { 'p/m': refused(503, { 'retry-after': '120' }), 'q/m': async () => OK } });
    await expect(models.generate('two', options, attribution())).resolves.toMatchObject({ text: 'ok' });
    expect(calls).toEqual(['p/m', 'q/m']);
  });

  test('a short hint is still waited for and retried', async () => {
    let n = 0;
    const { models, calls } = service({ routes: ROUTES, generate: { 'p/m': () => (n++ === 0 ? refused(429, { 'retry-after': '0.02' })() : Promise.resolve(OK)) } });
    await expect(models.generate('one', options, attribution())).resolves.toMatchObject({ text: 'ok' });
    expect(calls).toEqual(['p/m', 'p/m']);
  });
});

test("one route's strict breaker does not open the circuit for a lax route that shares the target", async () => {
  const { models, calls } = service({
    routes: `routes:
  strict:
    targets: [p/m, q/m]
    retry: { maxAttempts: 1 }
    circuitBreaker: { failureThreshold: 1, slowCallMs: 1, cooldownMs: 60000 }
  lax:
    targets: [p/m, q/m]
    retry: { maxAttempts: 1 }
    circuitBreaker: { failureThreshold: 100, cooldownMs: 60000 }
`,
    generate: { 'p/m': async () => (await sleep(10), OK), 'q/m': async () => OK },
  });
  // A 10 ms answer is a slow call for `strict` (slowCallMs 1): its circuit opens.
  await models.generate('strict', options, attribution());
  await models.generate('strict', options, attribution());
  expect(calls).toEqual(['p/m', 'q/m']);
  await models.generate('lax', options, attribution());
  expect(calls).toEqual(['p/m', 'q/m', 'p/m']);
});

test('a client that leaves during the backoff pause ends the request at once, with no further attempt and no row for one', async () => {
  const { models, calls, rows } = service({
    routes: `routes:
  slow-retry:
    targets: [p/m, q/m]
    retry: { maxAttempts: 2, baseDelayMs: 2000, maxDelayMs: 5000 }
`,
    generate: { 'p/m': refused(503), 'q/m': async () => OK },
  });
  const client = new AbortController();
  setTimeout(() => client.abort(), 50);
  const started = performance.now();
  await expect(models.generate('slow-retry', options, attribution(), client.signal)).rejects.toMatchObject({ name: 'AbortError' });
  expect(performance.now() - started).toBeLessThan(500);
  expect(calls).toEqual(['p/m']);
  expect(rows.map((r) => [r.provider, r.status])).toEqual([['p', 'error']]);
});

test('a stream that ends before its first part is a provider failure: metered as one, counted against the target, and the next target serves', async () => {
  const finish: StreamPartV1 = { type: 'finish', finishReason: 'stop', usage: { ...emptyUsage(true), inputTokens: 1, outputTokens: 1 } } as StreamPartV1;
  const { models, calls, rows } = service({
    routes: `routes:
  s:
    targets: [p/m, q/m]
    retry: { maxAttempts: 1 }
    circuitBreaker: { failureThreshold: 1, cooldownMs: 60000 }
`,
    stream: { 'p/m': () => [], 'q/m': () => [{ type: 'text-delta', text: 'hi' } as StreamPartV1, finish] },
  });
  const session = await models.stream('s', options, attribution(), new AbortController().signal);
  expect(session.model).toBe('q/m');
  for await (const _part of session.parts) {
    // drained so the stream's row is written
  }
  expect(calls).toEqual(['p/m', 'q/m']);
  expect(rows.map((r) => [r.provider, r.status, r.errorCode])).toEqual([['p', 'error', 'provider_bad_response'], ['q', 'ok', undefined]]);
  expect(models.health.breaker('s', 'p/m').state({ failureThreshold: 1, cooldownMs: 60000 })).toBe('open');
});
