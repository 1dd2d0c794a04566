import { openTestDatabase, type Db } from '@quire/db';
import {
  countTokens,
  fakeEmbedding,
  startFakeOpenAI,
  startFakeTei,
  startFakeVoyage,
  type FailureSpec,
  type FakeOpenAI,
  type FakeServer,
  type FakeTei,
  type FakeVoyage,
} from '@quire/fakes';
import { ledgerFor, micros, startHarness, type Harness } from '../testing/gateway-harness.js';

/**
 * `POST /v1/embeddings` splits a request into provider calls within the serving target's caps (TEI's
 * 32 inputs, Voyage's tokens per request), against the fake provider servers through the real
 * adapters: vectors in input order, usage summed, one ledger row per provider call, retries and
 * fallbacks per call.
 */

let db: Db;
let tei: FakeTei;
let openai: FakeOpenAI;
let voyage: FakeVoyage;
let gw: Harness;

const TEI = 'tei/bge-small-en-v1.5';
const texts = (n: number) => Array.from({ length: n }, (_v, i) => `passage ${i} about topic${i}`);
const tokensOf = (values: string[]) => values.reduce((sum, v) => sum + countTokens(v), 0);

beforeAll(async () => {
  [db, tei, openai, voyage] = await Promise.all([openTestDatabase(), startFakeTei(), startFakeOpenAI({ apiKey: 'sk-test' }), startFakeVoyage({ apiKey: 'voy-test' })]);
  gw = await startHarness(db, {
    providers: { openai: openai.url },
    providerConfigs: {
      // The fake TEI refuses more than 32 inputs a call (413), as TEI does by default.
      tei: { type: 'tei', baseURL: tei.url, allowLoopback: true },
      voyage: { type: 'voyage', baseURL: voyage.url, apiKey: 'voy-test', allowLoopback: true },
    },
    // $1 per million tokens: a row's cost is its token count in micro-dollars.
    prices: { [TEI]: { input: '1', output: '0' }, 'openai/text-embedding-3-small': { input: '1', output: '0' } },
    routes: `routes:
  embed-ha:
    targets: [${TEI}, openai/text-embedding-3-small]
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 20 }
`,
  });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([tei?.close(), openai?.close(), voyage?.close()]);
  await db?.close();
});

beforeEach(() => {
  for (const fake of [tei, openai, voyage]) {
    fake.script.reset();
    fake.requests.length = 0;
  }
});

/**
 * The `nth` request to `fake` (1-based) and the `count - 1` after it fail with `spec`. A fake records
 * a request before it serves the scripted failures, so arming the script when the nth is recorded
 * fails exactly that one, however fast the calls follow each other.
 */
function failFrom(fake: FakeServer, nth: number, count: number, spec: FailureSpec): void {
  const requests = fake.requests;
  const push = requests.push.bind(requests);
  requests.push = (...items) => {
    const length = push(...items);
    if (length === nth) {
      fake.script.failNext(count, spec);
      requests.push = push;
    }
    return length;
  };
}

async function embed(body: Record<string, unknown>, trace: string): Promise<{ status: number; json: any }> {
  const res = await gw.post('/v1/embeddings', body, { 'x-request-id': trace });
  return { status: res.status, json: await res.json() };
}

describe('POST /v1/embeddings splits by the target model caps', () => {
  test('100 inputs to a model capped at 32: 4 upstream calls, vectors in input order, usage summed, a ledger row per call', async () => {
    const values = texts(100);
    const { status, json } = await embed({ model: TEI, input: values }, 'split-100');
    expect(status).toBe(200);
    expect(tei.requests.map((r) => r.body.inputs)).toEqual([values.slice(0, 32), values.slice(32, 64), values.slice(64, 96), values.slice(96)]);
    expect(json.data).toHaveLength(100);
    json.data.forEach((d: { index: number; embedding: number[] }, i: number) => {
      expect(d.index).toBe(i);
      expect(d.embedding).toEqual(fakeEmbedding(values[i]!));
    });
    expect(json.usage).toEqual({ prompt_tokens: tokensOf(values), total_tokens: tokensOf(values) });

    const rows = await ledgerFor(db, 'split-100');
    const batches = [values.slice(0, 32), values.slice(32, 64), values.slice(64, 96), values.slice(96)];
    expect(rows.map((r) => [r.attempt, r.status, r.provider, r.model, r.capability, r.input_tokens, r.cost_usd, r.usage_reported])).toEqual(
      batches.map((b, i) => [i + 1, 'ok', 'tei', 'bge-small-en-v1.5', 'embedding', tokensOf(b), micros(tokensOf(b)), true]),
    );
    expect(rows.map((r) => r.route_reason)).toEqual(['direct; call 1/4 (inputs 0-31)', 'direct; call 2/4 (inputs 32-63)', 'direct; call 3/4 (inputs 64-95)', 'direct; call 4/4 (inputs 96-99)']);
  });

  test('a caller that goes away cancels the call in flight (metered as aborted) and makes no further call', async () => {
    const identity = { team_id: 'default', key_id: 'k-gone', role: 'admin' as const, groups: [] };
    const attribution = { traceId: 'split-gone', identity, purpose: 'api' as const };
    const client = new AbortController();
    // The client leaves while call 2 of 4 is at the provider.
    const push = tei.requests.push.bind(tei.requests);
    tei.requests.push = (...items) => {
      const length = push(...items);
      if (length === 2) client.abort();
      return length;
    };
    try {
      await expect(gw.models.embed(TEI, texts(100), undefined, attribution, undefined, client.signal)).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      tei.requests.push = push;
    }
    expect(tei.requests).toHaveLength(2);
    expect((await ledgerFor(db, 'split-gone')).map((r) => [r.attempt, r.status])).toEqual([[1, 'ok'], [2, 'aborted']]);
  });

  test('a client that disconnects over HTTP cancels the upstream call: no retry, no fallback, one aborted row', async () => {
    const slow = await startFakeOpenAI({ apiKey: 'sk-test', latencyMs: 2_000 });
    const gw2 = await startHarness(db, {
      providers: { slow: slow.url, openai: openai.url },
      routes: `routes:
  embed-slow:
    targets: [slow/text-embedding-3-small, openai/text-embedding-3-small]
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 20 }
`,
    });
    try {
      const client = new AbortController();
      const started = performance.now();
      const sent = gw2.post('/v1/embeddings', { model: 'embed-slow', input: 'x' }, { 'x-request-id': 'embed-gone' }, client.signal).catch((e: unknown) => e);
      while (slow.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
      client.abort();
      await sent;
      let rows = await ledgerFor(db, 'embed-gone');
      for (let i = 0; i < 200 && rows.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        rows = await ledgerFor(db, 'embed-gone');
      }
      // Well before the provider's 2 s answer: the call was cut, not waited for.
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(rows.map((r) => [r.provider, r.status])).toEqual([['slow', 'aborted']]);
      await new Promise((r) => setTimeout(r, 50));
      expect(slow.requests).toHaveLength(1);
      expect(openai.requests).toHaveLength(0);
    } finally {
      await gw2.close();
      await slow.close();
    }
  });

  test("a circuit that opens between calls sends the rest of the request to the route's next target", async () => {
    const values = texts(100);
    // TEI's first call counts against its circuit as a slow success does (slowCallMs), five times over:
    // the circuit opens while the request is between its first and second call.
    const breaker = gw.models.health.breaker('embed-ha', TEI);
    const success = breaker.success.bind(breaker);
    breaker.success = (permit, _latencyMs, settings) => {
      for (let i = 0; i < settings.failureThreshold; i++) breaker.failure(permit, settings);
    };
    try {
      const { status, json } = await embed({ model: 'embed-ha', input: values }, 'split-circuit');
      expect(status).toBe(200);
      expect(json.data).toHaveLength(100);
    } finally {
      breaker.success = success;
      breaker.reset();
    }
    expect(tei.requests).toHaveLength(1);
    expect(openai.requests.map((r) => r.body.input)).toEqual([values]);
    const rows = await ledgerFor(db, 'split-circuit');
    expect(rows.map((r) => [r.provider, r.status])).toEqual([['tei', 'ok'], ['openai', 'ok']]);
    expect(rows[1]!.route_reason).toMatch(/skipped tei\/bge-small-en-v1.5: circuit open/);
  });

  test('base64 answers keep the order across calls', async () => {
    const values = texts(40);
    const { json } = await embed({ model: TEI, input: values, encoding_format: 'base64' }, 'split-b64');
    expect(tei.requests).toHaveLength(2);
    const decoded = json.data.map((d: { embedding: string }) => Array.from(new Float32Array(new Uint8Array(Buffer.from(d.embedding, 'base64')).buffer)));
    expect(decoded).toEqual(values.map((v) => Array.from(new Float32Array(fakeEmbedding(v)))));
  });

  test('a request within the cap is still one call, as before', async () => {
    const values = texts(32);
    const { status } = await embed({ model: TEI, input: values }, 'split-none');
    expect(status).toBe(200);
    expect(tei.requests).toHaveLength(1);
    const rows = await ledgerFor(db, 'split-none');
    expect(rows.map((r) => [r.attempt, r.status, r.route_reason])).toEqual([[1, 'ok', 'direct']]);
  });

  test('call 2 of 4 fails once: it alone is retried, call 1 is not repeated, every attempt metered once', async () => {
    failFrom(tei, 2, 1, { status: 503 });
    const values = texts(100);
    const { status, json } = await embed({ model: TEI, input: values }, 'split-retry');
    expect(status).toBe(200);
    expect(tei.requests.map((r) => r.body.inputs[0])).toEqual([values[0], values[32], values[32], values[64], values[96]]);
    expect(json.data.map((d: { embedding: number[] }) => d.embedding)).toEqual(values.map((v) => fakeEmbedding(v)));
    expect(json.usage.prompt_tokens).toBe(tokensOf(values));

    const rows = await ledgerFor(db, 'split-retry');
    expect(rows.map((r) => [r.attempt, r.status, r.error_code, r.input_tokens])).toEqual([
      [1, 'ok', null, tokensOf(values.slice(0, 32))],
      [2, 'error', 'provider_overloaded', 0],
      [3, 'ok', null, tokensOf(values.slice(32, 64))],
      [4, 'ok', null, tokensOf(values.slice(64, 96))],
      [5, 'ok', null, tokensOf(values.slice(96))],
    ]);
    expect(rows[2]!.route_reason).toBe('direct; retry 2/2; call 2/4 (inputs 32-63)');
    expect(rows[3]!.route_reason).toBe('direct; call 3/4 (inputs 64-95)');
  });

  test('call 2 of 4 fails for good: the client gets the error, the calls made stay metered, no further call goes out', async () => {
    failFrom(tei, 2, 2, { status: 503 });
    const values = texts(100);
    const { status, json } = await embed({ model: TEI, input: values }, 'split-fail');
    expect(status).toBe(503);
    expect(json.error.code).toBe('provider_overloaded');
    expect(tei.requests).toHaveLength(3);

    const rows = await ledgerFor(db, 'split-fail');
    expect(rows.map((r) => [r.attempt, r.status, r.error_code, r.input_tokens, r.cost_usd])).toEqual([
      [1, 'ok', null, tokensOf(values.slice(0, 32)), micros(tokensOf(values.slice(0, 32)))],
      [2, 'error', 'provider_overloaded', 0, micros(0)],
      [3, 'error', 'provider_overloaded', 0, micros(0)],
    ]);
  });

  test('a route falls back mid-sequence: the next target starts over within its own caps, so no response mixes two models', async () => {
    failFrom(tei, 2, 2, { status: 503 });
    const values = texts(100);
    const { status, json } = await embed({ model: 'embed-ha', input: values }, 'split-fallback');
    expect(status).toBe(200);
    expect(tei.requests).toHaveLength(3);
    // OpenAI takes 2,048 inputs a call: the whole request in one, from the first input.
    expect(openai.requests.map((r) => r.body.input)).toEqual([values]);
    expect(json.data.map((d: { embedding: number[] }) => d.embedding)).toEqual(values.map((v) => fakeEmbedding(v)));
    // The answer's usage is the serving model's; the dropped TEI call is still in the ledger, priced.
    expect(json.usage.prompt_tokens).toBe(tokensOf(values));

    const rows = await ledgerFor(db, 'split-fallback');
    expect(rows.map((r) => [r.attempt, r.provider, r.status, r.input_tokens, r.fallback_from])).toEqual([
      [1, 'tei', 'ok', tokensOf(values.slice(0, 32)), null],
      [2, 'tei', 'error', 0, null],
      [3, 'tei', 'error', 0, null],
      [4, 'openai', 'ok', tokensOf(values), TEI],
    ]);
    expect(rows.every((r) => r.route === 'embed-ha')).toBe(true);
    expect(rows[3]!.route_reason).not.toMatch(/call \d/);
  });

  test("a model's token cap splits too: Voyage's 120K tokens a request, estimated from UTF-8 bytes", async () => {
    // Each about 50,000 bytes: two fit under 120,000 estimated tokens, three do not.
    const values = Array.from({ length: 5 }, (_v, i) => `long${i} ${'word '.repeat(10_000)}`);
    const { status, json } = await embed({ model: 'voyage/voyage-3-large', input: values }, 'split-tokens');
    expect(status).toBe(200);
    expect(voyage.requests.map((r) => r.body.input.length)).toEqual([2, 2, 1]);
    expect(json.data.map((d: { index: number }) => d.index)).toEqual([0, 1, 2, 3, 4]);
    expect(json.data.map((d: { embedding: number[] }) => d.embedding)).toEqual(values.map((v) => fakeEmbedding(v)));
    expect(json.usage.prompt_tokens).toBe(tokensOf(values));
    expect((await ledgerFor(db, 'split-tokens')).map((r) => [r.attempt, r.status])).toEqual([[1, 'ok'], [2, 'ok'], [3, 'ok']]);
  });

  test('accepts up to 2,048 inputs, as OpenAI does, and refuses more', async () => {
    const ok = await embed({ model: TEI, input: texts(2048) }, 'split-2048');
    expect(ok.status).toBe(200);
    expect(ok.json.data).toHaveLength(2048);
    expect(tei.requests).toHaveLength(64);
    expect(await ledgerFor(db, 'split-2048')).toHaveLength(64);
    const tooMany = await embed({ model: TEI, input: texts(2049) }, 'split-2049');
    expect(tooMany.status).toBe(400);
    expect(tei.requests).toHaveLength(64);
  });
});

describe('POST /v1/embeddings input forms SDKs send', () => {
  // cl100k_base ids of 'Hello wörld, embeddings!' and 'Bananas are yellow.', as tiktoken gives them.
  const hello = { text: 'Hello wörld, embeddings!', ids: [9906, 289, 9603, 509, 11, 71647, 0] };

  test("token ids (LangChain's default) are read as cl100k_base and embedded as the text they came from", async () => {
    const { Tiktoken } = await import('js-tiktoken/lite');
    const ranks = (await import('js-tiktoken/ranks/cl100k_base')).default;
    const bananas = 'Bananas are yellow.';
    const bananaIds = new Tiktoken(ranks).encode(bananas);
    const many = await embed({ model: TEI, input: [hello.ids, bananaIds] }, 'token-ids');
    expect(many.status).toBe(200);
    expect(tei.requests.map((r) => r.body.inputs)).toEqual([[hello.text, bananas]]);
    expect(many.json.data.map((d: { embedding: number[] }) => d.embedding)).toEqual([fakeEmbedding(hello.text), fakeEmbedding(bananas)]);
    const one = await embed({ model: TEI, input: hello.ids }, 'token-ids-one');
    expect(one.status).toBe(200);
    expect(tei.requests[1]?.body.inputs).toEqual([hello.text]);
  });

  test('a token id cl100k_base does not define is refused by name, before any provider call', async () => {
    const { status, json } = await embed({ model: TEI, input: [[9906, 100_265]] }, 'token-ids-bad');
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ code: 'invalid_request', param: 'input', message: expect.stringContaining('token id 100265') });
    expect(tei.requests).toHaveLength(0);
  });

  test('null for an option left unset is accepted, as SDK wrappers send it', async () => {
    const { status } = await embed({ model: TEI, input: 'x', dimensions: null, encoding_format: null, user: null }, 'nulls');
    expect(status).toBe(200);
  });
});
