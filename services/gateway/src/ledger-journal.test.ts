import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs, { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { emptyUsage } from '@quire/models';
import { createLogger, type Logger } from '@quire/server-kit';
import { Ledger, type Attribution, type LedgerEntry } from './ledger.js';
import { LedgerJournal } from './ledger-journal.js';
import { insertRows, rowValues } from './ledger-sql.js';
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

describe('ledger journal edge cases', () => {
  let db: Db;
  let down = false;
  /** The test database, refusing every query while `down`. */
  const flaky = () => ({ query: (sql: string, params?: unknown[]) => (down ? Promise.reject(new Error('database is down')) : db.query(sql, params)) }) as unknown as Db;
  const errors: string[] = [];
  const capturing: Logger = { ...logger, error: (msg) => void errors.push(msg) };
  const until = async (check: () => Promise<boolean> | boolean) => {
    for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
  };
  const line = (row: unknown[]) => `{"v":1,"r":${JSON.stringify(row)}}\n`;
  beforeEach(async () => {
    db = await openTestDatabase();
    down = false;
    errors.length = 0;
  });
  afterEach(async () => {
    await db.close();
  });

  it('a replay the database refuses at start is tried again later; the start does not wait for it', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'earlier-000000.jsonl'), [entry(), entry()].map((e) => line(rowValues(e, randomUUID()))).join(''));
    down = true;
    const ledger = new Ledger(flaky(), capturing, { journalDir: dir, flushDelayMs: 1, replayRetryMs: 20 });
    await ledger.ready;
    expect(errors).toContain('ledger journal replay failed; kept, and tried again later');
    expect(files(dir)).toContain('earlier-000000.jsonl');
    down = false;
    await until(async () => (await count(db)).n === 2);
    expect((await count(db)).n).toBe(2);
    await until(() => !files(dir).includes('earlier-000000.jsonl'));
    expect(files(dir)).not.toContain('earlier-000000.jsonl');
    await ledger.close();
  });

  it('one row the database refuses is set aside in quarantine; the rest of its file is replayed', async () => {
    const dir = tempDir();
    const rows = [entry(), entry(), entry()].map((e) => rowValues(e, randomUUID()));
    rows[1]![11] = 'not a number'; // the attempt column: no integer cast takes it
    writeFileSync(path.join(dir, 'earlier-000001.jsonl'), rows.map(line).join(''));
    const ledger = new Ledger(db, capturing, { journalDir: dir });
    await ledger.ready;
    expect((await count(db)).n).toBe(2);
    expect(files(dir)).not.toContain('earlier-000001.jsonl');
    const quarantined = readFileSync(path.join(dir, 'quarantine', 'earlier-000001.jsonl'), 'utf8').trim().split('\n');
    expect(quarantined.map((l) => JSON.parse(l).r)).toEqual([rows[1]]);
    expect(errors.some((m) => m.includes('set aside'))).toBe(true);
    await ledger.close();
    // Quarantined rows are not replayed by the next start.
    expect(LedgerJournal.readLeftovers(dir, logger)).toEqual([]);
  });

  it('a journal write that fails (disk full) does not throw into the caller: the row is written from memory', async () => {
    const dir = tempDir();
    const ledger = new Ledger(db, capturing, { journalDir: dir, flushDelayMs: 60_000 });
    const writeSync = fs.writeSync;
    let mode: 'enospc' | 'short' | 'ok' = 'enospc';
    (fs as { writeSync: unknown }).writeSync = (fd: number, data: string) => {
      if (mode === 'ok') return writeSync(fd, data);
      if (mode === 'short') return writeSync(fd, data.slice(0, 20));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    const first = entry();
    const second = entry();
    try {
      await expect(ledger.record(first)).resolves.toBeUndefined();
      mode = 'short';
      await expect(ledger.record(second)).resolves.toBeUndefined();
    } finally {
      mode = 'ok';
      (fs as { writeSync: unknown }).writeSync = writeSync;
    }
    expect(errors).toContain('ledger journal write failed; rows are kept in memory until committed');
    // Rows journalled after a torn write stay readable.
    await ledger.record(entry());
    expect(LedgerJournal.readLeftovers(dir, logger).flatMap((f) => f.rows)).toHaveLength(1);
    // The rows that missed the journal waited for their INSERT (memory path) rather than the batch timer.
    const traces = await db.query<{ trace_id: string }>('SELECT trace_id FROM usage_ledger');
    expect(traces.rows.map((r) => r.trace_id).sort()).toEqual([first.attribution.traceId, second.attribution.traceId].sort());
    await ledger.flush();
    expect((await count(db)).n).toBe(3);
    await ledger.close();
  });
});
