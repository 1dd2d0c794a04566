import { randomUUID } from 'node:crypto';
import { openTestDatabase, type Db } from '@quire/db';
import { emptyUsage } from '@quire/models';
import { createLogger, type Logger } from '@quire/server-kit';
import { Ledger, type LedgerEntry } from './ledger.js';

/** A ledger without a journal: rows the database refuses are kept in memory and retried, never thrown at the caller. */

const identity = { team_id: 'team-l', key_id: 'k', role: 'member' as const, groups: [] };
const entry = (traceId = `t-${randomUUID()}`): LedgerEntry => ({
  attribution: { traceId, identity, purpose: 'api' },
  capability: 'chat', provider: 'openai', model: 'gpt-4o-mini', attempt: 1, stream: false, status: 'ok',
  usage: { ...emptyUsage(true), inputTokens: 10, outputTokens: 5 }, costUsd: '0.000020000000', latencyMs: 3,
});

function capturing(): { logger: Logger; errors: { msg: string; fields: Record<string, unknown> | undefined }[] } {
  const errors: { msg: string; fields: Record<string, unknown> | undefined }[] = [];
  return { logger: { ...createLogger({ test: 'ledger' }, 'error'), error: (msg, fields) => void errors.push({ msg, fields }) }, errors };
}

let db: Db;
let down = false;
/** The test database, refusing every query while `down`. */
const flaky = () => ({ query: (sql: string, params?: unknown[]) => (down ? Promise.reject(new Error('database is down')) : db.query(sql, params)) }) as unknown as Db;
const count = async (traceId: string) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_ledger WHERE trace_id = $1', [traceId])).rows[0]!.n;

beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});
afterEach(() => {
  down = false;
});

test('a row the database refuses resolves record() anyway, is logged, and is written once the database is back', async () => {
  const { logger, errors } = capturing();
  const ledger = new Ledger(flaky(), logger);
  down = true;
  await expect(ledger.record(entry('mem-1'))).resolves.toBeUndefined();
  expect(errors.map((e) => e.msg)).toEqual(['ledger write failed; row kept for retry']);
  expect(errors[0]!.fields).toMatchObject({ trace_id: 'mem-1', kept_in: 'memory', tries: 1 });
  down = false;
  // The retry timer would do it within a second; flush() retries now.
  await ledger.flush();
  expect(await count('mem-1')).toBe(1);
  await ledger.close();
});

test('the retry timer writes a kept row on its own', async () => {
  const ledger = new Ledger(flaky(), capturing().logger);
  down = true;
  await ledger.record(entry('mem-timer'));
  down = false;
  for (let i = 0; i < 100 && (await count('mem-timer')) === 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await count('mem-timer')).toBe(1);
  await ledger.close();
});

test('a row still refused after its tries, or at shutdown, is logged whole rather than dropped silently', async () => {
  const { logger, errors } = capturing();
  const ledger = new Ledger(flaky(), logger);
  down = true;
  await ledger.record(entry('mem-lost'));
  for (let i = 0; i < 10; i++) await ledger.flush();
  const given = errors.filter((e) => e.msg.startsWith('ledger row given up'));
  expect(given).toHaveLength(1);
  expect(JSON.parse(given[0]!.fields!.row as string)).toContain('mem-lost');

  await ledger.record(entry('mem-shutdown'));
  await ledger.close();
  expect(errors.filter((e) => e.msg.startsWith('ledger row given up')).map((e) => JSON.parse(e.fields!.row as string)[0])).toEqual(['mem-lost', 'mem-shutdown']);
});
