import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTestDatabase, type Db } from '@quire/db';
import { emptyUsage } from '@quire/models';
import { createLogger, type Logger } from '@quire/server-kit';
import { Ledger, type LedgerEntry } from './ledger.js';

/** A call that ends after the ledger closed (cut off by the drain deadline, a stream whose client left) still leaves its row somewhere. */

const identity = { team_id: 'team-late', key_id: 'k', role: 'member' as const, groups: [] };
const entry = (traceId: string): LedgerEntry => ({
  attribution: { traceId, identity, purpose: 'api' },
  capability: 'chat', provider: 'openai', model: 'gpt-4o-mini', attempt: 1, stream: false, status: 'ok',
  usage: { ...emptyUsage(true), inputTokens: 10, outputTokens: 5 }, costUsd: '0.000020000000', latencyMs: 3,
});

type Line = { level: string; msg: string; fields: Record<string, unknown> | undefined };
function capturing(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const base = createLogger({ test: 'ledger-close' }, 'error');
  const push = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  return { logger: { ...base, warn: push('warn'), error: push('error'), info: push('info') }, lines };
}

let db: Db;
const dirs: string[] = [];
const count = async (traceId: string) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_ledger WHERE trace_id = $1', [traceId])).rows[0]!.n;

beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('without a journal, a row recorded after close() is logged whole as an error', async () => {
  const { logger, lines } = capturing();
  const ledger = new Ledger(db, logger);
  await ledger.close();
  const traceId = `late-${randomUUID()}`;
  await expect(ledger.record(entry(traceId))).resolves.toBeUndefined();
  const errors = lines.filter((l) => l.level === 'error');
  expect(errors).toHaveLength(1);
  expect(errors[0]!.msg).toBe('ledger row recorded after close; not written, the row follows');
  expect(errors[0]!.fields).toMatchObject({ trace_id: traceId, team_id: 'team-late', provider: 'openai', model: 'gpt-4o-mini' });
  expect(JSON.parse(String(errors[0]!.fields!.row))).toContain(traceId);
  // Given the database a moment: nothing is written behind the closed ledger's back.
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await count(traceId)).toBe(0);
});

test('with a journal, a row recorded after close() is journalled and the next start writes it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quire-ledger-close-'));
  dirs.push(dir);
  const { logger, lines } = capturing();
  const ledger = new Ledger(db, logger, { journalDir: dir });
  await ledger.ready;
  await ledger.close();
  const traceId = `late-${randomUUID()}`;
  await ledger.record(entry(traceId));
  expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  expect(lines.find((l) => l.level === 'warn')?.fields).toMatchObject({ trace_id: traceId });
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  expect(files.map((f) => readFileSync(path.join(dir, f), 'utf8')).join('')).toContain(traceId);
  expect(await count(traceId)).toBe(0);

  const next = new Ledger(db, capturing().logger, { journalDir: dir });
  await next.ready;
  expect(await count(traceId)).toBe(1);
  await next.close();
  expect(readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
});
