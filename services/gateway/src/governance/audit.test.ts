import { openTestDatabase, type Db } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import { AUDIT_ORDER_LOCK, AuditLog, type AuditEntry } from './audit.js';

const logger = createLogger({ test: 'audit' }, 'error');
let db: Db;

beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

const entry = (action: string): AuditEntry => ({ requestId: undefined, actorKeyId: null, actorTeamId: null, action, outcome: 'ok' });

/** The bigint advisory locks this connection holds (a bigint key is split over classid and objid). */
const heldAdvisoryKeys = async (tx: { query: Db['query'] }) =>
  (await tx.query<{ key: string }>(
    `SELECT ((classid::bigint << 32) | objid::bigint)::text AS key FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND pid = pg_backend_pid()`,
  )).rows.map((r) => r.key);

test('an audit write takes the ordering lock, held by its transaction until it ends (see audit-order.pg.test.ts)', async () => {
  const audit = new AuditLog(db, logger);
  const held = await db.transaction(async (tx) => {
    expect(await heldAdvisoryKeys(tx)).not.toContain(AUDIT_ORDER_LOCK);
    await audit.write(entry('lock.held'), tx);
    return heldAdvisoryKeys(tx);
  });
  expect(held).toContain(AUDIT_ORDER_LOCK);
  expect(await heldAdvisoryKeys(db)).not.toContain(AUDIT_ORDER_LOCK);
});

test('paging walks every row newest first, past ids of more digits (ids sort as numbers, not text)', async () => {
  const audit = new AuditLog(db, logger);
  for (let i = 0; i < 14; i++) await audit.write(entry(`paging.${i}`), db);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { data: { id: string; action: string }[]; next_cursor: string | null } = await audit.list({ limit: 4, cursor, action: undefined });
    seen.push(...page.data.filter((r) => r.action.startsWith('paging.')).map((r) => r.action));
    cursor = page.next_cursor;
  } while (cursor);
  expect(seen).toEqual(Array.from({ length: 14 }, (_, i) => `paging.${13 - i}`));
});
