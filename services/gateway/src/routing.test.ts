import { createServer, type AddressInfo, type Socket } from 'node:net';
import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { ledgerFor, micros, sseEvents, startHarness, type Harness } from './testing/gateway-harness.js';

let db: Db;
const open: { close(): Promise<void> }[] = [];
beforeAll(async () => {
  db = await openTestDatabase();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
});
afterAll(async () => {
  await db?.close();
});

async function fake(options: Parameters<typeof startFakeOpenAI>[0] = {}): Promise<FakeOpenAI> {
  const server = await startFakeOpenAI({ apiKey: 'sk-test', ...options });
  open.push(server);
  return server;
}

async function gateway(...args: Parameters<typeof startHarness>): Promise<Harness> {
  const harness = await startHarness(...args);
  open.push(harness);
  return harness;
}

const chat = (model: string, text = 'Hello there') => ({ model, messages: [{ role: 'user', content: text }] });
const PRICES = {
  'primary/gpt-4o-mini': { input: '1', output: '2' },
  'backup/gpt-4o-mini': { input: '3', output: '4' },
};

describe('routing with fallback', () => {
  test('the primary dies mid-run: every request still succeeds on the fallback, every attempt metered and priced', async () => {
    const [primary, backup] = await Promise.all([fake(), fake({ reply: () => 'from backup' })]);
    const gw = await gateway(db, {
      providers: { primary: primary.url, backup: backup.url },
      prices: PRICES,
      routes: `routes:
  chat-ha:
    targets: [primary/gpt-4o-mini, backup/gpt-4o-mini]
    retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 }
    circuitBreaker: { failureThreshold: 3, cooldownMs: 60000 }
`,
    });
    const traces: string[] = [];
    const bodies: any[] = [];
    let killed = false;
    // Four clients in a loop; the primary is closed while they run.
    await Promise.all(
      [0, 1, 2, 3].map(async (worker) => {
        for (let i = 0; i < 10; i++) {
          const trace = `kill-${worker}-${i}`;
          if (worker === 0 && i === 3 && !killed) {
            killed = true;
            await primary.close();
          }
          const res = await gw.post('/v1/chat/completions', chat('chat-ha', `hi ${worker} ${i}`), { 'x-request-id': trace });
          expect(res.status).toBe(200);
          bodies.push(await res.json());
          traces.push(trace);
        }
      }),
    );
    expect(bodies).toHaveLength(40);
    let fellBack = 0;
    let skippedOpen = 0;
    for (const trace of traces) {
      const rows = await ledgerFor(db, trace);
      const ok = rows.filter((r) => r.status === 'ok');
      expect(ok).toHaveLength(1);
      const served = ok[0]!;
      expect(served.route).toBe('chat-ha');
      const price = served.provider === 'primary' ? [1, 2] : [3, 4];
      expect(served.cost_usd).toBe(micros(served.input_tokens * price[0]! + served.output_tokens * price[1]!));
      for (const failed of rows.filter((r) => r.status !== 'ok')) {
        expect(failed).toMatchObject({ provider: 'primary', status: 'error', error_code: 'provider_network_error', usage_reported: false });
        // Refused connections cost nothing; a call cut while in flight may have been billed: priced on its estimated input.
        expect(failed.cost_usd).toBe(micros(failed.input_tokens * 1));
      }
      expect(rows.map((r) => r.attempt)).toEqual(rows.map((_r, i) => i + 1));
      if (served.provider === 'backup') {
        if (served.fallback_from) {
          fellBack++;
          expect(served.fallback_from).toBe('primary/gpt-4o-mini');
          expect(served.route_reason).toMatch(/fallback after provider_network_error/);
        } else {
          expect(served.route_reason).toMatch(/skipped primary\/gpt-4o-mini: circuit open/);
          skippedOpen++;
        }
      }
    }
    expect(fellBack).toBeGreaterThan(0);
    // Once three calls in a row failed the circuit opened: later requests go straight to the backup.
    expect(skippedOpen).toBeGreaterThan(20);
  });

  test('the circuit opens after consecutive failures, cools down, and a half-open probe closes it', async () => {
    const [primary, backup] = await Promise.all([fake(), fake()]);
    const gw = await gateway(db, {
      providers: { primary: primary.url, backup: backup.url },
      prices: PRICES,
      routes: `routes:
  chat-cb:
    targets: [primary/gpt-4o-mini, backup/gpt-4o-mini]
    retry: { maxAttempts: 1 }
    circuitBreaker: { failureThreshold: 2, cooldownMs: 300 }
`,
    });
    primary.script.failNext(2, { status: 500 });
    const send = async (trace: string) => {
      const res = await gw.post('/v1/chat/completions', chat('chat-cb'), { 'x-request-id': trace });
      expect(res.status).toBe(200);
      return ledgerFor(db, trace);
    };
    expect((await send('cb-1')).map((r) => [r.provider, r.status])).toEqual([['primary', 'error'], ['backup', 'ok']]);
    expect((await send('cb-2')).map((r) => [r.provider, r.status])).toEqual([['primary', 'error'], ['backup', 'ok']]);
    const open3 = await send('cb-3');
    expect(open3.map((r) => [r.provider, r.status])).toEqual([['backup', 'ok']]);
    expect(open3[0]!.route_reason).toMatch(/skipped primary\/gpt-4o-mini: circuit open/);
    await new Promise((r) => setTimeout(r, 350));
    // Half-open: one probe goes to the primary, succeeds, and closes the circuit.
    expect((await send('cb-4')).map((r) => [r.provider, r.status])).toEqual([['primary', 'ok']]);
    expect((await send('cb-5')).map((r) => [r.provider, r.status])).toEqual([['primary', 'ok']]);
  });

  test('weighted routes split roughly by weight', async () => {
    const [a, b] = await Promise.all([fake(), fake()]);
    const gw = await gateway(db, {
      providers: { wa: a.url, wb: b.url },
      routes: `routes:
  embed-split:
    strategy: weighted
    targets: [{ model: wa/text-embedding-3-small, weight: 3 }, { model: wb/text-embedding-3-small, weight: 1 }]
`,
    });
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 25; i++) expect((await gw.post('/v1/embeddings', { model: 'embed-split', input: 'x' })).status).toBe(200);
      }),
    );
    expect(a.requests.length + b.requests.length).toBe(200);
    expect(a.requests.length).toBeGreaterThan(120);
    expect(a.requests.length).toBeLessThan(180);
  });

  test('lowest-latency picks the faster target once both are measured', async () => {
    const [slow, quick] = await Promise.all([fake({ latencyMs: 60 }), fake({ latencyMs: 2 })]);
    const gw = await gateway(db, {
      providers: { slow: slow.url, quick: quick.url },
      routes: `routes:
  chat-fast:
    strategy: lowest-latency
    exploreFraction: 0
    targets: [slow/gpt-4o-mini, quick/gpt-4o-mini]
`,
    });
    for (let i = 0; i < 12; i++) expect((await gw.post('/v1/chat/completions', chat('chat-fast'), { 'x-request-id': `ll-${i}` })).status).toBe(200);
    expect(slow.requests).toHaveLength(1);
    expect(quick.requests).toHaveLength(11);
    expect((await ledgerFor(db, 'll-11'))[0]!.route_reason).toMatch(/lowest-latency \(ewma/);
  });

  test('a per-target first-byte or connect deadline sends the request to the next target', async () => {
    // The connect deadline covers TCP and TLS: this server accepts the TCP connection but never answers the TLS handshake.
    const sockets: Socket[] = [];
    const tarpit = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve));
    // Slow enough that waiting for it could not pass for a deadline firing, even on a loaded machine.
    const [stuck, backup] = await Promise.all([fake({ latencyMs: 2000 }), fake()]);
    const gw = await gateway(db, {
      providers: { stuck: stuck.url, backup: backup.url, tarpit: `https://127.0.0.1:${(tarpit.address() as AddressInfo).port}/v1` },
      prices: { ...PRICES, 'stuck/gpt-4o-mini': { input: '1', output: '2' }, 'tarpit/gpt-4o-mini': { input: '1', output: '2' } },
      routes: `routes:
  chat-deadline:
    targets:
      - { model: stuck/gpt-4o-mini, timeouts: { firstByteMs: 80 } }
      - backup/gpt-4o-mini
    retry: { maxAttempts: 1 }
  chat-connect:
    targets:
      - { model: tarpit/gpt-4o-mini, timeouts: { connectMs: 80, totalMs: 5000 } }
      - backup/gpt-4o-mini
    retry: { maxAttempts: 1 }
  chat-slow-but-connected:
    targets:
      - { model: stuck/gpt-4o-mini, timeouts: { connectMs: 80, totalMs: 5000 } }
      - backup/gpt-4o-mini
    retry: { maxAttempts: 1 }
`,
    });
    try {
      for (const [route, trace, stream, first] of [['chat-deadline', 'deadline-1', false, 'stuck'], ['chat-connect', 'deadline-2', true, 'tarpit']] as const) {
        const started = performance.now();
        const res = await gw.post('/v1/chat/completions', { ...chat(route), stream }, { 'x-request-id': trace });
        expect(res.status).toBe(200);
        await res.text();
        expect(performance.now() - started).toBeLessThan(1500);
        const rows = await ledgerFor(db, trace);
        expect(rows.map((r) => [r.provider, r.status, r.error_code])).toEqual([[first, 'error', 'provider_timeout'], ['backup', 'ok', null]]);
        // The stuck provider got the request and may bill for it: it is priced on the estimated input,
        // flagged as unreported. The tarpit never got it: 0.
        expect(rows[0]!.usage_reported).toBe(false);
        if (first === 'stuck') {
          expect(rows[0]!.input_tokens).toBeGreaterThan(0);
          expect(rows[0]!.cost_usd).toBe(micros(rows[0]!.input_tokens * 1));
        } else expect([rows[0]!.input_tokens, rows[0]!.cost_usd]).toEqual([0, micros(0)]);
        // The 80 ms deadline: libuv arms timers from the loop's cached clock, which a busy loop leaves a few ms stale.
        expect(rows[0]!.latency_ms).toBeGreaterThanOrEqual(65);
      }
      // A provider that connected at once but answers slowly is within its connect deadline.
      const slow = await gw.post('/v1/chat/completions', chat('chat-slow-but-connected'), { 'x-request-id': 'deadline-3' });
      expect(slow.status).toBe(200);
      expect((await ledgerFor(db, 'deadline-3')).map((r) => [r.provider, r.status])).toEqual([['stuck', 'ok']]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => tarpit.close(resolve));
    }
  });

  test('streams fall back before the first byte; after it the client gets an error event', async () => {
    const [primary, backup] = await Promise.all([fake(), fake({ reply: () => 'from backup' })]);
    const gw = await gateway(db, {
      providers: { primary: primary.url, backup: backup.url },
      prices: PRICES,
      routes: `routes:
  chat-stream:
    targets: [primary/gpt-4o-mini, backup/gpt-4o-mini]
    retry: { maxAttempts: 1 }
`,
    });
    const body = { ...chat('chat-stream'), stream: true, stream_options: { include_usage: true } };
    primary.script.failNext(1, { status: 503 });
    const before = await gw.post('/v1/chat/completions', body, { 'x-request-id': 'stream-fb-1' });
    const events = sseEvents(await before.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('from backup');
    const rows = await ledgerFor(db, 'stream-fb-1');
    expect(rows.map((r) => [r.provider, r.status, r.stream])).toEqual([['primary', 'error', true], ['backup', 'ok', true]]);
    const usage = chunks.at(-1).usage;
    expect(rows[1]!.cost_usd).toBe(micros(usage.prompt_tokens * 3 + usage.completion_tokens * 4));

    primary.script.cutStreamAfter(2);
    const after = await gw.post('/v1/chat/completions', body, { 'x-request-id': 'stream-fb-2' });
    expect(after.status).toBe(200);
    const afterEvents = sseEvents(await after.text());
    expect(afterEvents).not.toContain('[DONE]');
    const last = JSON.parse(afterEvents.at(-1)!);
    expect(last.error).toMatchObject({ code: 'provider_network_error', request_id: 'stream-fb-2' });
    const cut = await ledgerFor(db, 'stream-fb-2');
    expect(cut.map((r) => [r.provider, r.status, r.usage_reported])).toEqual([['primary', 'error', false]]);
    expect(cut[0]!.output_tokens).toBeGreaterThan(0);
  });

  test('a client that aborts a stream over HTTP is metered for what was produced', async () => {
    const long = Array.from({ length: 20000 }, (_v, i) => `word${i}`).join(' ');
    const primary = await fake({ reply: () => long });
    const gw = await gateway(db, { providers: { primary: primary.url }, prices: PRICES });
    const abort = new AbortController();
    const res = await gw.post('/v1/chat/completions', { ...chat('primary/gpt-4o-mini'), stream: true }, { 'x-request-id': 'abort-1' }, abort.signal);
    const reader = res.body!.getReader();
    let received = '';
    while (received.split('data: ').length < 5) received += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    let rows = await ledgerFor(db, 'abort-1');
    for (let i = 0; i < 100 && rows.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      rows = await ledgerFor(db, 'abort-1');
    }
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'aborted', usage_reported: false, stream: true });
    expect(rows[0]!.output_tokens).toBeGreaterThan(0);
    expect(rows[0]!.output_tokens).toBeLessThan(20000);
    expect(rows[0]!.cost_usd).toBe(micros(rows[0]!.input_tokens * 1 + rows[0]!.output_tokens * 2));
  });

  test('a p95 over the threshold demotes a target, and a used-up budget downgrades the route; both in the ledger', async () => {
    const [slow, quick] = await Promise.all([fake({ latencyMs: 50 }), fake()]);
    let used: number | null = null;
    const gw = await gateway(db, {
      providers: { slow: slow.url, quick: quick.url },
      routes: `routes:
  chat-p95:
    targets: [slow/gpt-4o-mini, quick/gpt-4o-mini]
    latencySwitch: { p95AboveMs: 30, windowMs: 60000, minSamples: 3 }
  chat-budget:
    targets: [slow/gpt-4o-mini]
    downgrade: { whenBudgetUsedAbove: 0.8, targets: [quick/gpt-4o-mini] }
`,
      extra: { budgetProbe: { usedFraction: async () => used } },
    });
    for (let i = 0; i < 4; i++) await gw.post('/v1/chat/completions', chat('chat-p95'), { 'x-request-id': `p95-${i}` });
    expect((await ledgerFor(db, 'p95-2'))[0]!.provider).toBe('slow');
    const switched = (await ledgerFor(db, 'p95-3'))[0]!;
    expect(switched.provider).toBe('quick');
    expect(switched.route_reason).toMatch(/latency switch: slow\/gpt-4o-mini p95 \d+ms > 30ms/);

    await gw.post('/v1/chat/completions', chat('chat-budget'), { 'x-request-id': 'budget-1' });
    expect((await ledgerFor(db, 'budget-1'))[0]!.provider).toBe('slow');
    used = 0.93;
    await gw.post('/v1/chat/completions', chat('chat-budget'), { 'x-request-id': 'budget-2' });
    const downgraded = (await ledgerFor(db, 'budget-2'))[0]!;
    expect(downgraded.provider).toBe('quick');
    expect(downgraded.route_reason).toMatch(/budget downgrade \(used 0\.93 > 0\.8\)/);
  });

  test('lowest-price orders by the price book, unpriced targets last', async () => {
    const [a, b] = await Promise.all([fake(), fake()]);
    const gw = await gateway(db, {
      providers: { primary: a.url, backup: b.url, nope: a.url },
      prices: PRICES,
      routes: `routes:
  chat-cheap:
    strategy: lowest-price
    targets: [nope/unpriced, backup/gpt-4o-mini, primary/gpt-4o-mini]
`,
    });
    await gw.post('/v1/chat/completions', chat('chat-cheap'), { 'x-request-id': 'cheap-1' });
    const rows = await ledgerFor(db, 'cheap-1');
    expect(rows.map((r) => r.provider)).toEqual(['primary']);
    expect(rows[0]!.route_reason).toMatch(/lowest-price/);
  });
});
