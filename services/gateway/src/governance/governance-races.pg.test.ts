/**
 * Governance writes under real concurrency: several gateway replicas (and the 10 connections of one
 * replica's pool) against one PostgreSQL server. PGlite runs one statement at a time and hides these.
 * Races are driven as in ingestion's *-races tests: a gate connection holds a lock, waits in
 * pg_stat_activity until the racers block behind it, then lets them go together.
 */
import { openPostgres, openTestDatabase, waitForLockWaiters, type Db, type PostgresTestDatabase } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import type { RouteStore } from '../routing/route-store.js';
import { startHarness, type Harness } from '../testing/gateway-harness.js';
import { Authenticator } from './authenticator.js';
import { Governance } from './governance.js';
import { GovernanceStore } from './store.js';

const logger = createLogger({ test: 'governance-races' }, 'error');
let db: PostgresTestDatabase;
/** The gate's own pool, so that holding its lock takes no connection from the gateway's. */
let gate: Db;
let harness: Harness;

beforeAll(async () => {
  db = (await openTestDatabase()) as PostgresTestDatabase;
  gate = openPostgres(db.connectionString, { max: 2 });
  harness = await startHarness(db, { providers: {} });
});
afterAll(async () => {
  await harness?.close();
  await gate?.close();
  await db?.close();
});

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

/** Authenticates against the database as another replica would after its cache expired. */
async function works(key: string): Promise<boolean> {
  try {
    await new Authenticator(new GovernanceStore(db), 0).authenticate(`Bearer ${key}`, undefined);
    return true;
  } catch {
    return false;
  }
}

test('two rotations of one key at once: every new secret handed out works (or one rotation is refused)', async () => {
  await json(await harness.post('/v1/teams', { id: 'team-rot', name: 'Rotation' }));
  const created = await json<{ id: string; key: string }>(await harness.post('/v1/keys', { team_id: 'team-rot', name: 'rotating', role: 'member' }));
  // Hold the key's row: both rotations read it, then wait at their UPDATE and go on together.
  const racing: Promise<Response>[] = [];
  await gate.transaction(async (tx) => {
    await tx.query('SELECT 1 FROM api_keys WHERE id = $1 FOR UPDATE', [created.id]);
    racing.push(harness.post(`/v1/keys/${created.id}/rotate`, { grace_seconds: 3600 }), harness.post(`/v1/keys/${created.id}/rotate`, { grace_seconds: 3600 }));
    await waitForLockWaiters(tx, 2);
  });
  const responses = await Promise.all(racing);
  const handedOut: string[] = [];
  for (const res of responses) if (res.status === 200) handedOut.push(((await res.json()) as { key: string }).key);
  expect(handedOut.length).toBeGreaterThan(0);
  // A caller told "200, here is your new key" must be able to use it.
  const usable = await Promise.all(handedOut.map(works));
  expect(usable).toEqual(handedOut.map(() => true));
});

test('a rotation racing a revocation does not answer 200 with a new secret for a key that ends up revoked', async () => {
  const created = await json<{ id: string; key: string }>(await harness.post('/v1/keys', { team_id: 'default', name: 'revoked-mid-rotation', role: 'member' }));
  // The revocation reaches its UPDATE first; the rotation reads the (not yet revoked) row, then queues behind it.
  const racing: Promise<Response>[] = [];
  await gate.transaction(async (tx) => {
    await tx.query('SELECT 1 FROM api_keys WHERE id = $1 FOR UPDATE', [created.id]);
    racing.push(harness.post(`/v1/keys/${created.id}/revoke`, {}));
    await waitForLockWaiters(tx, 1);
    racing.push(harness.post(`/v1/keys/${created.id}/rotate`, { grace_seconds: 0 }));
    await waitForLockWaiters(tx, 2);
  });
  const [revoked, rotated] = await Promise.all(racing) as [Response, Response];
  expect(revoked.status).toBe(200);
  const row = await new GovernanceStore(db).key(created.id);
  expect(row!.revoked_at).not.toBeNull();
  // "A revoked key cannot be rotated" (409) is the right answer; a 200 hands out a dead secret and audits a rotation of a revoked key.
  expect(rotated.status).toBe(409);
});

test('two replicas starting on an empty database create one bootstrap admin key, not two', async () => {
  const fresh = (await openTestDatabase()) as PostgresTestDatabase;
  const other = openPostgres(fresh.connectionString);
  const freshGate = openPostgres(fresh.connectionString, { max: 1 });
  try {
    const printed: string[] = [];
    const replica = (replicaDb: Db) => new Governance({ db: replicaDb, logger, costOf: () => null, routes: {} as RouteStore, print: (line) => printed.push(line) });
    // Both replicas count the keys behind the gate, then both see none.
    const racing: Promise<void>[] = [];
    await freshGate.transaction(async (tx) => {
      await tx.query('LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE');
      racing.push(replica(fresh).bootstrap(), replica(other).bootstrap());
      await waitForLockWaiters(tx, 2);
    });
    await Promise.all(racing);
    const admins = await fresh.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys WHERE role = 'admin'`);
    expect({ admins: admins.rows[0]!.n, printed: printed.length }).toEqual({ admins: 1, printed: 1 });
  } finally {
    await freshGate.close();
    await other.close();
    await fresh.close();
  }
});
