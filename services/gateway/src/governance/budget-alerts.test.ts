import http from 'node:http';
import type { Identity } from '@quire/contracts';
import { openTestDatabase } from '@quire/db';
import type { Logger } from '@quire/server-kit';
import { ALERT_RETRY_MS, type AlertKind } from './budget-alerts.js';
import { Budgets, periodStart, toNanos } from './budgets.js';
import { MemoryCounters } from './counters.js';
import { GovernanceStore, type BudgetRow } from './store.js';

const identity: Identity = { team_id: 'team-a', key_id: 'key-a', role: 'member', groups: [] };
/** What the alerts logged (messages only): a failed delivery is given back right after its line. */
const logged: string[] = [];
const logger = { debug() {}, info() {}, error() {}, warn: (msg: string) => void logged.push(msg), child: () => logger } as unknown as Logger;
const deliveryFailed = () => logged.filter((m) => m.startsWith('budget alert webhook failed')).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A webhook that answers `status` (changeable) and records what it received. */
let hook: http.Server;
let hookUrl = '';
let status = 200;
const received: { path: string; body: Record<string, string> }[] = [];

beforeAll(async () => {
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
});
afterAll(() => new Promise((r) => hook.close(r)));
beforeEach(() => {
  received.length = 0;
  logged.length = 0;
  status = 200;
});

/** Budgets over one budget row (replaceable) and in-memory alert claims, on a clock the test moves. */
function setup(spent: string, row: Partial<BudgetRow> = {}) {
  const clock = { now: Date.UTC(2026, 10, 26, 12) };
  const now = () => clock.now;
  let budget: BudgetRow = {
    id: '00000000-0000-4000-8000-000000000001', scope: 'team', scope_id: 'team-a', period: 'month', limit_usd: '1.000000000000', soft_fraction: '0.8000',
    alert_webhook: `${hookUrl}/hook`, updated_by: 'test', created_at: '', updated_at: '', ...row,
  };
  const claims = new Map<string, string>();
  let tokens = 0;
  const store = {
    budgetsFor: async () => [budget],
    spend: async () => spent,
    claimAlert: async (id: string, start: Date, kind: string) => {
      const key = `${id}:${start.getTime()}:${kind}`;
      if (claims.has(key)) return null;
      claims.set(key, `token-${++tokens}`);
      return claims.get(key)!;
    },
    unclaimAlert: async (id: string, start: Date, kind: string, token: string) => {
      const key = `${id}:${start.getTime()}:${kind}`;
      if (claims.get(key) === token) claims.delete(key);
    },
  } as unknown as GovernanceStore;
  const counters = new MemoryCounters(now);
  const budgets = new Budgets(store, counters, logger, 5000, now);
  /** Another gateway replica: same database, same Redis. */
  const replica = () => new Budgets(store, counters, logger, 5000, now);
  const replace = (patch: Partial<BudgetRow>) => {
    budget = { ...budget, ...patch };
    claims.clear(); // what GovernanceStore.upsertBudget does when limit, fraction or webhook change
    budgets.invalidate();
  };
  return { budgets, clock, claims, replace, replica };
}

describe('budget alerts', () => {
  test('a soft-threshold alert the webhook does not take is tried again by a later call, at most once a minute, until delivered', async () => {
    const { budgets, clock, claims, replace } = setup('0.85');
    await budgets.usedFraction(identity); // seeds the counter from the ledger, as a reservation would
    status = 500;
    await budgets.charge(identity, 1);
    await until(() => received.length === 1 && claims.size === 0, 'the failed delivery to give its claim back');
    expect(received[0]!.body).toMatchObject({ type: 'budget.soft_threshold', scope_id: 'team-a', used_usd: '0.850000001' });

    // Within the minute: not tried again, however many calls cross the threshold.
    await budgets.charge(identity, 1);
    await sleep(50);
    expect(received).toHaveLength(1);

    clock.now += ALERT_RETRY_MS + 1;
    status = 200;
    await budgets.charge(identity, 1);
    await until(() => received.length === 2, 'the retry');
    expect(claims.size).toBe(1);

    // Delivered: once per period.
    clock.now += ALERT_RETRY_MS + 1;
    await budgets.charge(identity, 1);
    await sleep(50);
    expect(received).toHaveLength(2);

    // A new webhook gets the alert again.
    clock.now += ALERT_RETRY_MS + 1;
    replace({ alert_webhook: `${hookUrl}/new-hook` });
    await budgets.charge(identity, 1);
    await until(() => received.length === 3, 'the alert to the new webhook');
    expect(received[2]!.path).toBe('/new-hook');
  });

  test('replicas share the minute between tries', async () => {
    const { budgets, clock, replica } = setup('0.85');
    const other = replica();
    await budgets.usedFraction(identity);
    status = 500;
    await budgets.charge(identity, 1);
    await until(() => deliveryFailed() === 1, 'the failed delivery');
    await sleep(20);
    await other.charge(identity, 1);
    await sleep(50);
    expect(received).toHaveLength(1);
    clock.now += ALERT_RETRY_MS + 1;
    status = 200;
    await other.charge(identity, 1);
    await until(() => received.length === 2, 'the other replica\'s try');
  });

  test('a webhook that cannot be reached gives the claim back too', async () => {
    const { budgets, claims } = setup('0.85', { alert_webhook: 'http://127.0.0.1:1/closed' });
    await budgets.usedFraction(identity);
    await budgets.charge(identity, 1);
    await until(() => deliveryFailed() === 1 && claims.size === 0, 'the claim to be given back');
  });

  test('a call refused by a spent budget sends one exhausted alert per period; a refusal below the soft threshold sends none', async () => {
    const early = setup('0.10');
    // One oversized request on a budget that is mostly unused is not the budget running out.
    await expect(early.budgets.reserve(identity, toNanos('0.95'))).rejects.toMatchObject({ code: 'budget_exceeded' });
    await sleep(50);
    expect(received).toHaveLength(0);

    const { budgets, clock } = setup('0.95');
    status = 503;
    await expect(budgets.reserve(identity, toNanos('0.10'))).rejects.toMatchObject({ code: 'budget_exceeded' });
    await until(() => received.length === 1 && deliveryFailed() === 1, 'the exhausted alert');
    await sleep(20); // its claim is given back
    expect(received[0]!.body).toMatchObject({ type: 'budget.exhausted', used_usd: '0.95', requested_usd: '0.1', limit_usd: '1.000000000000' });

    clock.now += ALERT_RETRY_MS + 1;
    status = 200;
    await expect(budgets.reserve(identity, toNanos('0.10'))).rejects.toMatchObject({ code: 'budget_exceeded' });
    await until(() => received.length === 2, 'the exhausted alert, tried again');
    for (let i = 0; i < 3; i++) {
      clock.now += ALERT_RETRY_MS + 1;
      await expect(budgets.reserve(identity, toNanos('0.10'))).rejects.toMatchObject({ code: 'budget_exceeded' });
    }
    await sleep(50);
    expect(received.map((r) => r.body.type)).toEqual(['budget.exhausted', 'budget.exhausted']);
  });
});

test("changing a budget's limit, soft fraction or webhook gives back the period's alert claims of both kinds; other changes do not", async () => {
  const db = await openTestDatabase();
  try {
    const store = new GovernanceStore(db);
    const base = { scope: 'team' as const, scope_id: 'team-a', period: 'month' as const, limit_usd: '10', soft_fraction: '0.8', alert_webhook: 'http://hooks.internal/a', updated_by: 'admin-1' };
    const { id } = await store.upsertBudget(base);
    const start = periodStart('month', Date.now());
    const claimed = async (kind: AlertKind) => (await store.claimAlert(id, start, kind)) === null;

    const token = await store.claimAlert(id, start, 'soft_threshold');
    expect(token).not.toBeNull();
    expect(await claimed('soft_threshold')).toBe(true);
    // The kinds are claimed apart: the soft threshold's claim does not hold the exhausted alert back.
    const exhausted = await store.claimAlert(id, start, 'exhausted');
    expect(exhausted).not.toBeNull();
    expect(await claimed('exhausted')).toBe(true);
    await store.upsertBudget({ ...base, updated_by: 'admin-2' });
    expect(await claimed('soft_threshold')).toBe(true);
    expect(await claimed('exhausted')).toBe(true);
    // Another claim's token (one made before a change) does not give this one back.
    await store.unclaimAlert(id, start, 'soft_threshold', '2000-01-01 00:00:00+00');
    expect(await claimed('soft_threshold')).toBe(true);

    for (const change of [{ alert_webhook: 'http://hooks.internal/b' }, { limit_usd: '20' }, { soft_fraction: '0.5' }, { alert_webhook: null }]) {
      Object.assign(base, change);
      expect((await store.upsertBudget(base)).id).toBe(id);
      for (const kind of ['soft_threshold', 'exhausted'] as const) {
        const again = await store.claimAlert(id, start, kind);
        expect({ change, kind, reclaimed: again !== null }).toEqual({ change, kind, reclaimed: true });
        await store.unclaimAlert(id, start, kind, again!);
        expect(await claimed(kind)).toBe(false); // given back, then claimed again by `claimed`
      }
    }
  } finally {
    await db.close();
  }
});

test('a Redis flush or a restart does not send the exhausted alert again: its claim is a database row', async () => {
  const db = await openTestDatabase();
  try {
    const store = new GovernanceStore(db);
    await store.upsertBudget({
      scope: 'team', scope_id: 'team-a', period: 'month', limit_usd: '1', soft_fraction: '0.8', alert_webhook: `${hookUrl}/exhausted`, updated_by: 'admin-1',
    });
    // The ledger says $0.95 was spent this period (the counters are seeded from it).
    Object.assign(store, { spend: async () => '0.95' });
    const clock = { now: Date.UTC(2026, 10, 26, 12) };
    const now = () => clock.now;
    const refuse = (budgets: Budgets) => expect(budgets.reserve(identity, toNanos('0.10'))).rejects.toMatchObject({ code: 'budget_exceeded' });

    // The webhook fails once: the claim is given back and the alert tried again a minute later.
    status = 500;
    const first = new Budgets(store, new MemoryCounters(now), logger, 5000, now);
    await refuse(first);
    await until(() => received.length === 1 && deliveryFailed() === 1, 'the failed exhausted alert');
    await sleep(20); // its claim is given back
    clock.now += ALERT_RETRY_MS + 1;
    status = 200;
    await refuse(first);
    await until(() => received.length === 2, 'the exhausted alert, tried again');
    expect(received.map((r) => r.body.type)).toEqual(['budget.exhausted', 'budget.exhausted']);

    // Redis flushed and every replica restarted: counters, retry gates and what each process remembers are gone.
    for (let restart = 0; restart < 2; restart++) {
      clock.now += ALERT_RETRY_MS + 1;
      await refuse(new Budgets(store, new MemoryCounters(now), logger, 5000, now));
    }
    await sleep(100);
    expect(received).toHaveLength(2);

    // A new period is a new alert.
    clock.now = Date.UTC(2026, 11, 1, 0, 5);
    await refuse(new Budgets(store, new MemoryCounters(now), logger, 5000, now));
    await until(() => received.length === 3, 'the next period\'s alert');
    expect(received[2]!.body).toMatchObject({ type: 'budget.exhausted', period_start: '2026-12-01T00:00:00.000Z' });
  } finally {
    await db.close();
  }
});
