import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Identity } from '@quire/contracts';
import { openTestDatabase } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import type { RouteStore } from '../routing/route-store.js';
import { Budgets, type Reservation } from './budgets.js';
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
  claimAlert: async () => false,
} as unknown as GovernanceStore;

describe('the budget a route downgrade looks at', () => {
  test("leaves out the asking request's own worst-case reservation, but counts other requests' in flight", async () => {
    const budgets = new Budgets(store, new MemoryCounters(), createLogger({ test: 'budgets' }, 'error'));
    // $0.20 spent; this request reserves a worst case of $0.70 (a large max_tokens): 0.9 of the budget.
    const own = await budgets.reserve(identity, 700_000);
    expect(await budgets.usedFraction(identity)).toBeCloseTo(0.9);
    expect(await budgets.usedFraction(identity, own)).toBeCloseTo(0.2);
    // Another request's reservation is money that may really go.
    await budgets.reserve(identity, 50_000);
    expect(await budgets.usedFraction(identity, own)).toBeCloseTo(0.25);
    // Once settled, a request's real cost is spend like any other.
    own!.actual = 300_000;
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
    const first = (await budgets.reserve(identity, 100_000))!;
    first.actual = 300_000;
    await budgets.settle(first);
    ledger = '0.50';
    expect(await budgets.usedFraction(identity)).toBeCloseTo(0.5);

    await restartRedis();
    // Started from zero, the counter would let $0.60 more through a $1 budget with $0.50 spent.
    await expect(budgets.reserve(identity, 600_000)).rejects.toMatchObject({ code: 'budget_exceeded' });
    expect(await budgets.usedFraction(identity)).toBeCloseTo(0.5);

    const second = (await budgets.reserve(identity, 400_000))!;
    await restartRedis();
    // Lost between reservation and settlement: the ledger, which has this request's cost, is the value.
    ledger = '0.70';
    second.actual = 200_000;
    await budgets.settle(second);
    expect(await budgets.usedFraction(identity)).toBeCloseTo(0.7);
  });
});
