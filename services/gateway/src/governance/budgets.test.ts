import type { Identity } from '@quire/contracts';
import { openTestDatabase } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import type { RouteStore } from '../routing/route-store.js';
import { Budgets, type Reservation } from './budgets.js';
import { MemoryCounters } from './counters.js';
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
