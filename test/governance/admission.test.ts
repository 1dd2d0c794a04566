import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { startHarness, type Harness } from '../../services/gateway/src/testing/gateway-harness.js';
import { call, chat, sleep, teamKey } from './helpers.js';

let db: Db;
let openai: FakeOpenAI;
let gw: Harness;
/**
 * While set, reading a caller's budgets waits this long: admission (whose last step is the budget
 * reservation) then takes long enough to walk away from, after the body was read and the key checked.
 */
let slowBudgets = 0;
/** What the provider received, by the prompt's first word. */
const received = new Map<string, any>();

beforeAll(async () => {
  [db, openai] = await Promise.all([
    openTestDatabase(),
    startFakeOpenAI({
      apiKey: 'sk-test',
      reply: (body: any) => {
        received.set(String(body.messages.at(-1).content).split(' ')[0]!, body);
        return 'ok';
      },
    }),
  ]);
  const slowDb = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop === 'query') {
        return async (...args: unknown[]) => {
          if (slowBudgets && /FROM budgets WHERE/.test(String(args[0]))) await sleep(slowBudgets);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  // Output is dear ($2 per million tokens) so that an uncapped call's reservation is large.
  gw = await startHarness(slowDb, { providers: { primary: openai.url }, prices: { 'primary/gpt-4o-mini': { input: '1', output: '2' } } });
});
afterAll(async () => {
  await gw?.close();
  await openai?.close();
  await db?.close();
});

async function budgetUsed(id: string): Promise<number> {
  return Number((await call(gw.url, 'GET', `/v1/budgets/${id}`)).body.used_usd);
}

async function ledger(team: string): Promise<{ n: number; spent: number }> {
  const r = await db.query<{ n: number; s: string }>(`SELECT count(*)::int AS n, coalesce(sum(cost_usd), 0)::text AS s FROM usage_ledger WHERE team_id = $1`, [team]);
  return { n: r.rows[0]!.n, spent: Number(r.rows[0]!.s) };
}

/** Sends a whole request, then goes away 50 ms later: while the gateway still awaits admission. */
function sendAndLeave(headers: Record<string, string>, body: Buffer): Promise<void> {
  const { hostname, port } = new URL(gw.url);
  return new Promise<void>((resolve) => {
    const socket = net.connect(Number(port), hostname, () => {
      const head = Object.entries({ host: 'x', 'content-length': String(body.length), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\n${head}\r\n`);
      socket.write(body);
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 50);
    });
    socket.on('error', () => undefined);
  });
}

describe('admission', () => {
  test('a client that leaves while its call is admitted gets its reservation released and no provider call made, through both doors', async () => {
    await call(gw.url, 'POST', '/v1/teams', { id: 'adm-leave', name: 'adm-leave' });
    const budget = await call(gw.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'adm-leave', period: 'day', limit_usd: '100' });
    expect(budget.status).toBe(201);
    const keys = [];
    for (let i = 0; i < 5; i++) keys.push(await teamKey(gw.url, 'adm-leave', 'member'));
    // One served call: the counter exists and holds real spend.
    expect((await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 5 }), keys[0]!.auth)).status).toBe(200);

    // Each key is new to the gateway, so its budgets are read from the database (slowly): the client
    // is gone before admission ends. $1 worst case each (500000 output tokens at $2 per million).
    const body = Buffer.from(JSON.stringify(chat('primary/gpt-4o-mini', { max_tokens: 500_000 })));
    slowBudgets = 300;
    try {
      for (const k of keys.slice(1, 3)) await sendAndLeave({ 'content-type': 'application/json', authorization: `Bearer ${k.key}` }, body);
      // A compressed body goes through express (modelGuard) instead of the model front.
      for (const k of keys.slice(3)) await sendAndLeave({ 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: `Bearer ${k.key}` }, gzipSync(body));
      await sleep(1000);
    } finally {
      slowBudgets = 0;
    }
    const spent = await ledger('adm-leave');
    expect(spent.n).toBe(1);
    expect(await budgetUsed(budget.body.id)).toBeCloseTo(spent.spent, 6);
  });

  test('under a budget, a chat call without max_tokens is capped at the output its reservation assumed; without one it goes out as asked', async () => {
    const capped = await teamKey(gw.url, 'adm-cap', 'member');
    expect((await call(gw.url, 'PUT', '/v1/budgets', { scope: 'key', scope_id: capped.id, period: 'month', limit_usd: '50' })).status).toBe(201);
    const free = await teamKey(gw.url, 'adm-free', 'member');
    const ask = (word: string, extra: Record<string, unknown> = {}) => chat('primary/gpt-4o-mini', { messages: [{ role: 'user', content: `${word} hello` }], ...extra });

    expect((await call(gw.url, 'POST', '/v1/chat/completions', ask('capped'), capped.auth)).status).toBe(200);
    expect((await call(gw.url, 'POST', '/v1/chat/completions', ask('own', { max_tokens: 7 }), capped.auth)).status).toBe(200);
    expect((await call(gw.url, 'POST', '/v1/chat/completions', ask('free'), free.auth)).status).toBe(200);
    const cap = (body: any) => body.max_completion_tokens ?? body.max_tokens;
    expect(cap(received.get('capped'))).toBe(4096);
    expect(cap(received.get('own'))).toBe(7);
    expect(cap(received.get('free'))).toBeUndefined();
  });

  test('a request refused for its budget (402) does not use up requests or tokens per minute', async () => {
    const k = await teamKey(gw.url, 'adm-402', 'member', { rpm: 2, tpm: 1000 });
    const budget = await call(gw.url, 'PUT', '/v1/budgets', { scope: 'team', scope_id: 'adm-402', period: 'day', limit_usd: '0' });
    expect(budget.status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const refused = await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 2000 }), k.auth);
      expect([refused.status, refused.body.error.code]).toEqual([402, 'budget_exceeded']);
    }
    expect((await call(gw.url, 'DELETE', `/v1/budgets/${budget.body.id}`)).status).toBe(200);
    const served = await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini', { max_tokens: 20 }), k.auth);
    expect(served.status).toBe(200);
    expect(served.headers.get('x-ratelimit-remaining-requests')).toBe('1');
  });
});
