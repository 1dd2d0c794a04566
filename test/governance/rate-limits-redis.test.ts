import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { startHarness, TEST_ADMIN_KEY_ID, type Harness } from '../../services/gateway/src/testing/gateway-harness.js';
import { call, chat, sleep, teamKey } from './helpers.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `quire-test-${randomUUID()}:`;
const root = path.resolve(import.meta.dirname, '../..');
let db: Db;
let openai: FakeOpenAI;
let a: Harness;
let child: ChildProcess;
let bUrl = '';

beforeAll(async () => {
  [db, openai] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test' })]);
  a = await startHarness(db, { providers: { primary: openai.url }, extra: { governance: { redisUrl: REDIS_URL, redisPrefix: prefix } } });
  child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'gateway-child.ts')], {
    cwd: root, env: { ...process.env, NODE_OPTIONS: '', UPSTREAM_URL: openai.url, REDIS_URL, REDIS_PREFIX: prefix }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /READY (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code})`)));
  });
  bUrl = `http://127.0.0.1:${port}`;
}, 60_000);
afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await a?.close();
  await openai?.close();
  await db?.close();
});

/** Fixed one-minute windows: stay clear of a boundary so the whole test falls in one window. */
async function awayFromWindowEdge() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 8000) await sleep(left + 100);
}

describe('rate limits shared through Redis by two gateway processes', () => {
  test('requests per minute of one key are counted across both processes, with headers and retry-after', async () => {
    // The same key in both processes (the bootstrap admin key), 5 requests per minute.
    for (const url of [a.url, bUrl]) expect((await call(url, 'PATCH', `/v1/keys/${TEST_ADMIN_KEY_ID}`, { rpm: 5 })).status).toBe(200);
    await awayFromWindowEdge();
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 8; i++) {
      last = await call(i % 2 === 0 ? a.url : bUrl, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini'));
      statuses.push(last.status);
      if (i === 0) {
        expect(last.headers.get('x-ratelimit-limit-requests')).toBe('5');
        expect(last.headers.get('x-ratelimit-remaining-requests')).toBe('4');
        expect(last.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/);
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(last!.body.error.code).toBe('rate_limit_exceeded');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    for (const url of [a.url, bUrl]) await call(url, 'PATCH', `/v1/keys/${TEST_ADMIN_KEY_ID}`, { rpm: null });
  });

  test('a team token limit refuses once the window is full, and a fresh team is unaffected', async () => {
    await call(a.url, 'POST', '/v1/teams', { id: 'rl-tokens', name: 'T', tpm: 100 });
    const k = await teamKey(a.url, 'rl-tokens', 'member');
    await awayFromWindowEdge();
    const first = await call(a.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 60 }), k.auth);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('100');
    // The estimate is corrected to the real usage after the call, so the window holds what was used.
    await call(a.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 60 }), k.auth);
    const blocked = [];
    for (let i = 0; i < 15; i++) {
      const r = await call(a.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 60 }), k.auth);
      blocked.push(r.status);
    }
    // ~9 real tokens a call: the window fills after about eleven calls, then refuses with retry-after.
    expect(blocked).toContain(429);
    expect(blocked.slice(blocked.indexOf(429)).every((s) => s === 429)).toBe(true);
    const other = await teamKey(a.url, 'rl-other', 'member');
    expect((await call(a.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini'), other.auth)).status).toBe(200);
  });
});
