import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Identity } from '@quire/contracts';
import { openTestDatabase } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import type { RouteStore } from '../routing/route-store.js';
import { Budgets, fromNanos, toNanos, type Reservation } from './budgets.js';
import { MemoryCounters, RedisCounters } from './counters.js';
import { Governance } from './governance.js';
import type { BudgetRow, GovernanceStore } from './store.js';

const identity: Identity = { team_id: 'team-b', key_id: 'key-b', role: 'member', groups: [] };
const budget: BudgetRow = {
  id: 'b1', scope: 'team', scope_id: 'team-b', period: 'month', limit_usd: '1.00', soft_fraction: '0.8', alert_webhook: null,
  updated_by: 'test', created_at: '', updated_at: '',
};
const store = {
  budgetsFor: async () => [budget],
  spend: async () => '0.20',
  claimAlert: async () => null,
} as unknown as GovernanceStore;

const quiet = createLogger({ test: 'budgets' }, 'error');

describe('a model without a price', () => {
  const gpt4o = { model: 'openai/gpt-4o', unpriced: ['openai/gpt-4o'] };

  test('is refused under a budget (403 model_unpriced), naming the model and how to price it or allow it', async () => {
    const budgets = new Budgets(store, new MemoryCounters(), quiet);
    const refusal = budgets.reserve(identity, 0, gpt4o);
    await expect(refusal).rejects.toMatchObject({ code: 'model_unpriced', status: 403, param: 'model', details: { model: 'openai/gpt-4o', unpriced_models: ['openai/gpt-4o'], budget_id: 'b1' } });
    const message = await refusal.catch((error: Error) => error.message);
    expect(message).toContain('Model "openai/gpt-4o" has no price');
    expect(message).toContain('QUIRE_PRICING_JSON');
    expect(message).toContain('QUIRE_BUDGETS_ALLOW_UNPRICED=true');
    // Up-front checks (an upload's embeddings) are refused the same way.
    await expect(budgets.check(identity, 0, gpt4o)).rejects.toMatchObject({ code: 'model_unpriced' });
    // A route names the unpriced targets it can reach.
    await expect(budgets.reserve(identity, 1000, { model: 'chat-default', unpriced: ['openai/gpt-4o', 'openai/o3'] })).rejects.toThrow(
      '"chat-default" can call models without a price ("openai/gpt-4o", "openai/o3")',
    );
    // Nothing unpriced: reserved as before.
    expect(await budgets.reserve(identity, 1000, { model: 'openai/gpt-4o-mini', unpriced: [] })).toMatchObject({ reserved: 1000 });
  });

  test('a reranker billed in search units is told to add a searchUnit price (input/output alone cannot price it)', async () => {
    const budgets = new Budgets(store, new MemoryCounters(), quiet);
    // Priced with input/output only.
    const cohere = { model: 'cohere/rerank-v3.5', unpriced: ['cohere/rerank-v3.5'], needsSearchUnit: ['cohere/rerank-v3.5'], onlySearchUnitMissing: ['cohere/rerank-v3.5'] };
    const refusal = budgets.reserve(identity, 0, cohere);
    await expect(refusal).rejects.toMatchObject({ code: 'model_unpriced', status: 403, details: { unpriced_models: ['cohere/rerank-v3.5'], missing_search_unit_price: ['cohere/rerank-v3.5'] } });
    const message = await refusal.catch((error: Error) => error.message);
    expect(message).toContain('Model "cohere/rerank-v3.5" has no searchUnit price (its reranks are billed in search units, which input and output prices do not cover)');
    expect(message).toContain('"searchUnit": "0.002"');
    expect(message).toContain('USD per search unit');
    // Without any price: it has no price, and the one it needs has a searchUnit (no input/output price to speak of).
    const bare = await budgets.reserve(identity, 0, { ...cohere, onlySearchUnitMissing: [] }).catch((error: Error) => error.message);
    expect(bare).toContain('Model "cohere/rerank-v3.5" has no price (its reranks are billed in search units, so its price needs a searchUnit beside input and output)');
    expect(bare).not.toContain('which input and output prices do not cover');
    expect(bare).toContain('"searchUnit": "0.002"');
    // A reranker billed in tokens without a price: a plain missing price, no searchUnit asked for.
    const tokens = await budgets.reserve(identity, 0, { model: 'voyage/rerank-2', unpriced: ['voyage/rerank-2'], needsSearchUnit: [], onlySearchUnitMissing: [] }).catch((error: Error) => error.message);
    expect(tokens).toContain('Model "voyage/rerank-2" has no price, so');
    expect(tokens).not.toContain('searchUnit');
    const routed = await budgets.check(identity, 0, { model: 'rerank', unpriced: ['cohere/rerank-v3.5', 'p/x'], needsSearchUnit: ['cohere/rerank-v3.5'] }).catch((error: Error) => error.message);
    expect(routed).toContain('"rerank" can call models without a price ("cohere/rerank-v3.5" (needs a searchUnit price), "p/x")');
    expect(routed).toContain('searchUnit');
  });

  test('is not refused for callers without a budget', async () => {
    const budgets = new Budgets({ ...store, budgetsFor: async () => [] } as unknown as GovernanceStore, new MemoryCounters(), quiet);
    expect(await budgets.reserve(identity, 0, gpt4o)).toBeNull();
    await expect(budgets.check(identity, 0, gpt4o)).resolves.toBeUndefined();
  });
});

describe('budget counters', () => {
  test('count cheap calls at their cost, not each rounded up to a micro-dollar', async () => {
    const budgets = new Budgets({ ...store, spend: async () => '0' } as unknown as GovernanceStore, new MemoryCounters(), quiet);
    // Twenty embedding calls of $0.00000008 each: $0.0000016, not 20 micro-dollars.
    for (let i = 0; i < 20; i++) {
      const r = (await budgets.reserve(identity, toNanos('0.0000001')))!;
      r.actual = toNanos('0.00000008');
      await budgets.settle(r);
    }
    for (let i = 0; i < 20; i++) await budgets.charge(identity, toNanos('0.00000008'));
    expect((await budgets.used(budget)).used_usd).toBe('0.0000032');
  });

  test('are seeded from the ledger in the same unit', async () => {
    const budgets = new Budgets({ ...store, spend: async () => '0.000001600000' } as unknown as GovernanceStore, new MemoryCounters(), quiet);
    expect((await budgets.used(budget)).used_usd).toBe('0.0000016');
    expect(toNanos('0.0000000001')).toBe(1);
    expect(fromNanos(9_000_000_000_000_001)).toBe('9000000.000000001');
  });

  test('show used amounts as exact decimals without trailing zeros, not the counters\' nine fraction digits', async () => {
    expect(fromNanos(6000)).toBe('0.000006');
    expect(fromNanos(toNanos('12.5'))).toBe('12.5');
    expect(fromNanos(0)).toBe('0');
    expect(fromNanos(toNanos('25'))).toBe('25');
    expect(fromNanos(1)).toBe('0.000000001');
    expect(fromNanos(-1500)).toBe('-0.0000015');
    const budgets = new Budgets({ ...store, spend: async () => '0.000006000000' } as unknown as GovernanceStore, new MemoryCounters(), quiet);
    expect(await budgets.used(budget)).toMatchObject({ used_usd: '0.000006' });
    const empty = new Budgets({ ...store, spend: async () => '0' } as unknown as GovernanceStore, new MemoryCounters(), quiet);
    expect(await empty.used(budget)).toMatchObject({ used_usd: '0' });
    // A refusal's details say it the same way.
    await expect(budgets.reserve(identity, toNanos('1'))).rejects.toMatchObject({ code: 'budget_exceeded', details: { used_usd: '0.000006' } });
  });

  test('a refusal names a daily or monthly budget', async () => {
    const day = { ...budget, period: 'day' as const };
    const budgets = new Budgets({ ...store, budgetsFor: async () => [day] } as unknown as GovernanceStore, new MemoryCounters(), quiet);
    await expect(budgets.reserve(identity, toNanos('0.9'))).rejects.toThrow('The daily budget of team "team-b" ($1) does not cover this request.');
    const monthly = new Budgets(store, new MemoryCounters(), quiet);
    await expect(monthly.reserve(identity, toNanos('0.9'))).rejects.toThrow('The monthly budget of team "team-b" ($1) does not cover this request.');
  });
});

describe('the budget a route downgrade looks at', () => {
  test("leaves out the asking request's own worst-case reservation, but counts other requests' in flight", async () => {
    const budgets = new Budgets(store, new MemoryCounters(), createLogger({ test: 'budgets' }, 'error'));
    // $0.20 spent; this request reserves a worst case of $0.70 (a large max_tokens): 0.9 of the budget.
    const own = await budgets.reserve(identity, 700_000_000);
    expect(await budgets.usedFraction(identity)).toBeCloseTo(0.9);
    expect(await budgets.usedFraction(identity, own)).toBeCloseTo(0.2);
    // Another request's reservation is money that may really go.
    await budgets.reserve(identity, 50_000_000);
    expect(await budgets.usedFraction(identity, own)).toBeCloseTo(0.25);
    // Once settled, a request's real cost is spend like any other.
    own!.actual = 300_000_000;
    await budgets.settle(own!);
    expect(await budgets.usedFraction(identity, own)).toBeCloseTo(0.55);
  });
});

test("the gateway's probe finds the asking request's reservation by its per-request identity", async () => {
  const db = await openTestDatabase();
  try {
    const gov = new Governance({ db, logger: createLogger({ test: 'budgets' }, 'error'), costOf: () => null, routes: {} as RouteStore });
    const seen: (Reservation | null | undefined)[] = [];
    gov.budgets.usedFraction = async (_identity, own) => {
      seen.push(own);
      return 0;
    };
    const reservation: Reservation = { identity, slots: [], reserved: 1, actual: 0, tokens: 0, settled: false };
    const perRequest = { ...identity };
    gov.calls.set(perRequest, { reservation, tokens: 0, settled: false });
    await gov.usedFraction(perRequest);
    await gov.usedFraction({ ...identity });
    expect(seen).toEqual([reservation, undefined]);
    await gov.close();
  } finally {
    await db.close();
  }
});

describe('budget counters lost by Redis', () => {
  const prefix = `quire-test-${randomUUID()}:`;
  const redis = new Redis('redis://127.0.0.1:6379');
  const counters = new RedisCounters('redis://127.0.0.1:6379', prefix);
  /** What the ledger says the period spent. */
  let ledger = '0.20';
  const ledgerStore = { ...store, spend: async () => ledger } as unknown as GovernanceStore;
  const restartRedis = async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  };
  afterAll(async () => {
    await restartRedis();
    await counters.close();
    await redis.quit();
  });

  test('are seeded again from the ledger, by a reservation or by a settlement, in the same process', async () => {
    const budgets = new Budgets(ledgerStore, counters, createLogger({ test: 'budgets' }, 'error'));
    const first = (await budgets.reserve(identity, 100_000_000))!;
    first.actual = 300_000_000;
    await budgets.settle(first);
    ledger = '0.50';
    expect(await budgets.usedFraction(identity)).toBeCloseTo(0.5);

    await restartRedis();
    // Started from zero, the counter would let $0.60 more through a $1 budget with $0.50 spent.
    await expect(budgets.reserve(identity, 600_000_000)).rejects.toMatchObject({ code: 'budget_exceeded' });
    expect(await budgets.usedFraction(identity)).toBeCloseTo(0.5);

    const second = (await budgets.reserve(identity, 400_000_000))!;
    await restartRedis();
    // Lost between reservation and settlement: the ledger, which has this request's cost, is the value.
    ledger = '0.70';
    second.actual = 200_000_000;
    await budgets.settle(second);
    expect(await budgets.usedFraction(identity)).toBeCloseTo(0.7);
  });
});
