import { openTestDatabase, type Db, type Queryable } from '@quire/db';
import type { Identity } from '@quire/contracts';
import { createLogger } from '@quire/server-kit';
import { NO_BUDGETS } from './budget-probe.js';
import { RouteSchema } from './route-config.js';
import { RoutePlanner } from './route-planner.js';
import { RouteStore } from './route-store.js';
import { HealthBook } from './target-health.js';

const logger = createLogger({ test: 'route-store' }, 'error');
const SETTINGS = { failureThreshold: 1, cooldownMs: 60_000 };
const identity: Identity = { team_id: 'team-1', key_id: 'key-1', role: 'member', groups: [] };
const route = (targets: string[], downgrade?: string[]) =>
  RouteSchema.parse({ targets, ...(downgrade ? { downgrade: { whenBudgetUsedAbove: 0.5, targets: downgrade } } : {}) });

let db: Db;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

/** A store and a planner over one health book, the way a gateway process wires them. */
function wired(fileRoutes = new Map<string, ReturnType<typeof route>>()) {
  const store = new RouteStore(db, fileRoutes, logger, 60_000);
  const health = new HealthBook();
  new RoutePlanner(store, health, NO_BUDGETS, () => undefined, { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 });
  const open = (name: string, model: string) => {
    const breaker = health.breaker(name, model);
    breaker.failure(breaker.acquire(SETTINGS)!, SETTINGS);
    return breaker;
  };
  return { store, health, open };
}

describe('route changes prune the health book', () => {
  test('a removed target loses its breaker; kept and downgrade targets keep theirs', async () => {
    const { store, health, open } = wired();
    await store.put('prune-targets', route(['p/a', 'p/b'], ['p/cheap']), 'admin');
    const a = open('prune-targets', 'p/a');
    const b = open('prune-targets', 'p/b');
    const cheap = open('prune-targets', 'p/cheap');

    await store.put('prune-targets', route(['p/b'], ['p/cheap']), 'admin');
    expect(health.breaker('prune-targets', 'p/b')).toBe(b);
    expect(health.breaker('prune-targets', 'p/cheap')).toBe(cheap);
    expect(health.breaker('prune-targets', 'p/a')).not.toBe(a);
    expect(health.breaker('prune-targets', 'p/a').state(SETTINGS)).toBe('closed');
  });

  test('a deleted route re-created under the same name does not inherit its open circuits', async () => {
    const { store, health, open } = wired(new Map([['from-file', route(['p/f'])]]));
    await store.put('recreated', route(['p/x']), 'admin');
    open('recreated', 'p/x');
    open('from-file', 'p/f');

    expect(await store.delete('recreated', 'admin')).toBe(true);
    // A file route's delete is a tombstone: the route is gone all the same.
    expect(await store.delete('from-file', 'admin')).toBe(true);
    await store.put('recreated', route(['p/x']), 'admin');

    expect(health.breaker('recreated', 'p/x').state(SETTINGS)).toBe('closed');
    expect(health.breaker('from-file', 'p/f').state(SETTINGS)).toBe('closed');
  });

  test('a change made by another process is pruned when this one refreshes', async () => {
    const mine = wired();
    const other = new RouteStore(db, new Map(), logger, 60_000);
    await other.put('elsewhere', route(['p/y']), 'admin');
    expect(await mine.store.get('elsewhere')).toBeDefined();
    const y = mine.open('elsewhere', 'p/y');

    await other.delete('elsewhere', 'admin');
    await mine.store.reload();
    expect(mine.health.breaker('elsewhere', 'p/y')).not.toBe(y);
  });

  test('a listener that throws neither stops the load nor the other listeners', async () => {
    const store = new RouteStore(db, new Map([['ok', route(['p/ok'])]]), logger, 60_000);
    const seen: string[][] = [];
    store.onChange(() => {
      throw new Error('listener bug');
    });
    store.onChange((routes) => seen.push([...routes.keys()]));
    expect(await store.get('ok')).toBeDefined();
    expect(seen.at(-1)).toContain('ok');
  });
});

test('a write that lands while a refresh is in flight is seen by the write itself', async () => {
  // The refresh reads the table before the write but answers after it, like a slow SELECT would.
  let release: () => void = () => undefined;
  let hold = false;
  // Only reads outside a transaction are held (the refresh's); the write runs in one.
  const hooked = (q: Queryable, holdable: boolean) => async (sql: string, params?: unknown[]) => {
    const result = await q.query(sql, params);
    if (holdable && hold && sql.trimStart().startsWith('SELECT')) {
      hold = false;
      await new Promise<void>((resolve) => (release = resolve));
    }
    if (sql.trimStart().startsWith('INSERT')) release();
    return result;
  };
  const slow = {
    ...db,
    query: hooked(db, true),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => db.transaction((tx) => fn({ ...tx, query: hooked(tx, false) } as Queryable)),
  } as Db;
  const store = new RouteStore(slow, new Map(), logger, 0);
  const health = new HealthBook();
  new RoutePlanner(store, health, NO_BUDGETS, () => undefined, { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 });
  await store.put('raced', route(['p/old']), 'admin');
  const old = health.breaker('raced', 'p/old');

  hold = true;
  await store.get('raced'); // stale: starts the background refresh, which is now held
  const view = await store.put('raced', route(['p/new']), 'admin');

  expect(view.route.targets.map((t) => t.model)).toEqual(['p/new']);
  expect(health.breaker('raced', 'p/old')).not.toBe(old);
});

test('the planner still plans from a store without onChange (plain { get } stores)', async () => {
  const routes = new Map([['r', route(['p/a'])]]);
  const planner = new RoutePlanner({ get: async (name: string) => routes.get(name) }, new HealthBook(), NO_BUDGETS, () => undefined, { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 });
  expect((await planner.plan('r', 'chat', identity))?.steps.map((s) => s.model)).toEqual(['p/a']);
});

describe('writes in a caller\'s transaction', () => {
  test('a transaction that fails after its route writes leaves the database, the routes in memory and the listeners as they were', async () => {
    const store = new RouteStore(db, new Map(), logger, 60_000);
    const loads: string[][] = [];
    store.onChange((routes) => loads.push([...routes.keys()]));
    await store.put('kept-on-rollback', route(['p/old']), 'admin');
    const loadsBefore = loads.length;

    const failed = store.transaction(async (routes) => {
      await routes.put('kept-on-rollback', route(['p/new']), 'admin');
      await routes.put('never-made', route(['p/x']), 'admin');
      expect(await routes.delete('kept-on-rollback', 'admin')).toBeDefined();
      throw new Error('the audit row could not be written');
    });
    await expect(failed).rejects.toThrow('the audit row could not be written');

    // No refresh is due (60 s): these read the routes held in memory.
    expect((await store.get('kept-on-rollback'))?.targets.map((t) => t.model)).toEqual(['p/old']);
    expect(await store.get('never-made')).toBeUndefined();
    expect(loads.length).toBe(loadsBefore);
    const rows = await db.query<{ name: string }>(`SELECT name FROM gateway_routes WHERE name IN ('kept-on-rollback', 'never-made') ORDER BY name`);
    expect(rows.rows.map((r) => r.name)).toEqual(['kept-on-rollback']);
    expect((await store.view('kept-on-rollback'))?.route.targets.map((t) => t.model)).toEqual(['p/old']);
  });

  test('the writer reports each change\'s before and after, and memory follows once the transaction commits', async () => {
    const store = new RouteStore(db, new Map([['tx-file', route(['p/f'])]]), logger, 60_000);
    const seen = await store.transaction(async (routes) => {
      const created = await routes.put('tx-new', route(['p/a']), 'admin-1');
      const replaced = await routes.put('tx-new', route(['p/b']), 'admin-2');
      const tombstoned = await routes.delete('tx-file', 'admin-2');
      const missing = await routes.delete('tx-none', 'admin-2');
      return { created, replaced, tombstoned, missing };
    });
    expect(seen.created.before).toBeUndefined();
    expect(seen.created.after).toMatchObject({ name: 'tx-new', source: 'database', updated_by: 'admin-1' });
    expect(seen.replaced.before?.route.targets.map((t) => t.model)).toEqual(['p/a']);
    expect(seen.replaced.after.route.targets.map((t) => t.model)).toEqual(['p/b']);
    expect(seen.tombstoned).toMatchObject({ name: 'tx-file', source: 'file' });
    expect(seen.missing).toBeUndefined();
    expect((await store.get('tx-new'))?.targets.map((t) => t.model)).toEqual(['p/b']);
    expect(await store.get('tx-file')).toBeUndefined();
  });
});

describe('routes stored before a check was added', () => {
  test('a retry base above its cap (valid when stored) still loads, cut to the cap', async () => {
    // The admin API now refuses this; a row written before must keep serving.
    await db.query(`INSERT INTO gateway_routes (name, config, updated_by, updated_at) VALUES ('legacy-retry', $1::jsonb, 'admin', now())`, [
      JSON.stringify({ targets: ['p/a'], retry: { maxDelayMs: 100 } }),
    ]);
    const { store } = wired();
    const view = await store.view('legacy-retry');
    expect(view?.source).toBe('database');
    expect(view?.route.retry).toEqual({ maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 100 });
  });
});
