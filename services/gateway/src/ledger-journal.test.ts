import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { emptyUsage } from '@quire/models';
import { createLogger } from '@quire/server-kit';
import { Ledger, type Attribution, type LedgerEntry } from './ledger.js';
import { LedgerJournal } from './ledger-journal.js';
import { insertRows } from './ledger-sql.js';
import { ADMIN_AUTH } from './testing/gateway-harness.js';

const logger = createLogger({ test: 'ledger-journal' }, 'error');
const root = path.resolve(import.meta.dirname, '../../..');
let dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quire-journal-test-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

const identity = { team_id: 'team-a', key_id: 'k', role: 'member' as const, groups: [] };
function entry(attribution: Partial<Attribution> = {}): LedgerEntry {
  return {
    attribution: { traceId: `t-${randomUUID()}`, identity, purpose: 'api', ...attribution },
    capability: 'chat', provider: 'openai', model: 'gpt-4o-mini', attempt: 1, stream: false, status: 'ok',
    usage: { ...emptyUsage(true), inputTokens: 10, outputTokens: 5 }, costUsd: '0.000020000000', latencyMs: 3,
  };
}
const count = async (db: Db) => (await db.query<{ n: number; keys: number }>('SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS keys FROM usage_ledger')).rows[0]!;
const files = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.jsonl'));

describe('ledger journal', () => {
  let db: Db;
  beforeEach(async () => {
    db = await openTestDatabase();
  });
  afterEach(async () => {
    await db.close();
  });

  it('answers external calls before the commit and writes them in one batch', async () => {
    const ledger = new Ledger(db, logger, { journalDir: tempDir(), flushDelayMs: 60_000 });
    for (let i = 0; i < 20; i++) await ledger.record(entry());
    expect((await count(db)).n).toBe(0);
    await ledger.flush();
    expect(await count(db)).toEqual({ n: 20, keys: 20 });
    await ledger.close();
  });

  it('commits a platform service call (query attribution) before record() resolves', async () => {
    const ledger = new Ledger(db, logger, { journalDir: tempDir(), flushDelayMs: 60_000 });
    const queryId = randomUUID();
    await ledger.record(entry({ purpose: 'generate', queryId }));
    const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_ledger WHERE query_id = $1', [queryId]);
    expect(r.rows[0]!.n).toBe(1);
    await ledger.close();
  });

  it('deletes the journal once everything is committed, and keeps it when the database is down', async () => {
    const dir = tempDir();
    const down: Db = { ...db, query: () => Promise.reject(new Error('database is down')) } as Db;
    const broken = new Ledger(down, logger, { journalDir: dir, flushDelayMs: 1 });
    await Promise.all([broken.record(entry()), broken.record(entry())]);
    await broken.close();
    expect(LedgerJournal.readLeftovers(dir, logger).flatMap((f) => f.rows)).toHaveLength(2);

    const ledger = new Ledger(db, logger, { journalDir: dir, flushDelayMs: 1 });
    await ledger.ready;
    expect((await count(db)).n).toBe(2);
    await ledger.record(entry());
    await ledger.flush();
    await ledger.close();
    expect(files(dir)).toEqual([]);
    expect((await count(db)).n).toBe(3);
  });

  it('loses no answered row when the gateway process is killed, and replays each exactly once', async () => {
    const openai: FakeOpenAI = await startFakeOpenAI({ apiKey: 'sk-test' });
    const dir = tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'testing/ledger-crash-child.ts')], {
      cwd: root, env: { ...process.env, NODE_OPTIONS: '', UPSTREAM_URL: openai.url, LEDGER_JOURNAL_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /READY (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`child exited (${code})`)));
      });
      const N = 25;
      const traces = new Set<string>();
      for (let i = 0; i < N; i++) {
        const traceId = `crash-${i}-${randomUUID()}`;
        const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': traceId, ...ADMIN_AUTH },
          body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(res.status).toBe(200);
        await res.text();
        traces.add(traceId);
      }
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;

      // Some rows may have been committed before the crash (a database outside the process): replay must skip them.
      const journalled = LedgerJournal.readLeftovers(dir, logger).flatMap((f) => f.rows);
      expect(journalled).toHaveLength(N);
      await insertRows(db, journalled.slice(0, 10));
      const copy = tempDir();
      cpSync(dir, copy, { recursive: true });

      const ledger = new Ledger(db, logger, { journalDir: dir });
      await ledger.ready;
      await ledger.close();
      const rows = await db.query<{ trace_id: string }>('SELECT trace_id FROM usage_ledger');
      expect(new Set(rows.rows.map((r) => r.trace_id))).toEqual(traces);
      expect(await count(db)).toEqual({ n: N, keys: N });
      expect(files(dir)).toEqual([]);

      // Replaying the same journal again (a crash between commit and delete) adds nothing.
      const again = new Ledger(db, logger, { journalDir: copy });
      await again.ready;
      await again.close();
      expect(await count(db)).toEqual({ n: N, keys: N });
    } finally {
      child.kill('SIGKILL');
      await openai.close();
    }
  });
});
