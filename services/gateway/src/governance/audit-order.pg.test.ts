/**
 * Audit ids become visible in id order, so a reader paging `GET /v1/audit` (id descending) never
 * passes over a row that commits later. Two connections writing at once are needed to see it, which
 * embedded PGlite (one connection) cannot give: this runs in the PostgreSQL pass only.
 */
import { openTestDatabase, waitForLockWaiters, type PostgresTestDatabase } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import { AuditLog, type AuditEntry } from './audit.js';

const logger = createLogger({ test: 'audit-order' }, 'error');
let db: PostgresTestDatabase;

beforeAll(async () => {
  db = (await openTestDatabase()) as PostgresTestDatabase;
});
afterAll(async () => {
  await db?.close();
});

const entry = (action: string, outcome: AuditEntry['outcome'] = 'ok'): AuditEntry => ({ requestId: undefined, actorKeyId: null, actorTeamId: null, action, outcome });

test('a row written after an open transaction took its id commits after it, so no reader sees it first', async () => {
  const audit = new AuditLog(db, logger);
  await db.transaction((tx) => audit.write(entry('order.baseline'), tx));
  let later: Promise<unknown> = Promise.resolve();
  let seenMeanwhile: string[] = [];
  await db.transaction(async (tx) => {
    await audit.write(entry('order.first'), tx);
    // Another change and a refusal, each on a connection of its own, get ids above the first's.
    audit.refused(entry('order.refused', 'refused'));
    // The second writes its row directly, as retrieval's promotions and ingestion's activations do: the
    // order is the table's (a statement trigger), not AuditLog's.
    const direct = db.transaction((other) => other.query(`INSERT INTO audit_log (actor_key_id, actor_team_id, action, outcome) VALUES (NULL, NULL, 'order.second', 'ok')`));
    later = Promise.all([direct, audit.flush()]);
    // Their chance to commit: they either did (nothing orders them) or wait on the audit lock.
    const waiting = waitForLockWaiters(db, 2, 'advisory').catch(() => undefined);
    await Promise.race([later, waiting]);
    seenMeanwhile = (await audit.list({ limit: 10, cursor: null })).data.map((r) => r.action);
  });
  await later;
  // A reader that saw "order.second" now would page past "order.first" (a lower id) before it commits.
  expect(seenMeanwhile).toEqual(['order.baseline']);
  const all = (await audit.list({ limit: 10, cursor: null })).data;
  expect(all.map((r) => r.action).slice(-2)).toEqual(['order.first', 'order.baseline']);
  expect(new Set(all.slice(0, 2).map((r) => r.action))).toEqual(new Set(['order.second', 'order.refused']));
});
