import { gzipSync } from 'node:zlib';
import { openAIQuotaErrorBody, type FakeOpenAI } from '@quire/fakes';
import type { RunningServer } from '@quire/server-kit';
import { startBothDoors, type BothDoors } from '../testing/both-doors.js';
import { ADMIN_AUTH, TEST_ADMIN_KEY } from '../testing/gateway-harness.js';

/**
 * A provider's rate-limit or overload hint reaches the gateway's client as `Retry-After` once the
 * gateway's own retries and fallbacks have given up, through both doors of the model API: the
 * node:http model front and the express routes (which serve gzip bodies, among others).
 */

let openai: FakeOpenAI;
let front: RunningServer;
let viaExpress: RunningServer;

let doors: BothDoors;

beforeAll(async () => {
  // Waits longer than 20 ms are not retried here: the caller gets the error and the hint.
  doors = await startBothDoors({ retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 20 } });
  ({ openai, front, viaExpress } = doors);
});

afterAll(() => doors?.close());

beforeEach(() => openai.script.reset());

const DOORS = [
  ['model front', () => front],
  ['express routes', () => viaExpress],
] as const;

const send = (server: RunningServer, path: string, body: unknown, headers: Record<string, string> = {}, gzip = false) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...ADMIN_AUTH, ...(gzip ? { 'content-encoding': 'gzip' } : {}), ...headers },
    body: gzip ? gzipSync(JSON.stringify(body)) : JSON.stringify(body),
  });

const chat = (text: string, extra: Record<string, unknown> = {}) => ({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: text }], ...extra });
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; type: string } }).error;

describe.each(DOORS)('Retry-After through the %s', (_door, server) => {
  test('a provider 429 that asks for longer than the gateway waits answers 429 with its Retry-After', async () => {
    openai.script.failNext(1, { status: 429, headers: { 'retry-after': '30' } });
    const res = await send(server(), '/v1/chat/completions', chat('wait'));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('30');
    // With a hint the client may come back after it.
    expect(res.headers.get('x-should-retry')).toBeNull();
    expect(await errorOf(res)).toMatchObject({ code: 'provider_rate_limited', type: 'rate_limit_error' });
  });

  test('a provider 429 retried until the attempts ran out keeps the last hint; retry-after-ms rounds up to seconds', async () => {
    openai.script.failNext(2, { status: 429, headers: { 'retry-after-ms': '10' } });
    const res = await send(server(), '/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'x' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(openai.requests.slice(-2).map((r) => r.path)).toEqual(['/v1/embeddings', '/v1/embeddings']);

    openai.script.failNext(1, { status: 429, headers: { 'retry-after-ms': '1500' } });
    const rounded = await send(server(), '/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'x' });
    expect(rounded.headers.get('retry-after')).toBe('2');
  });

  test('a provider 503 with retry-after answers 503 provider_overloaded with it', async () => {
    openai.script.failNext(1, { status: 503, headers: { 'retry-after': '7' } });
    const res = await send(server(), '/v1/chat/completions', chat('busy'));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await errorOf(res)).toMatchObject({ code: 'provider_overloaded' });
  });

  test('a streaming call refused before its first byte carries the hint too', async () => {
    openai.script.failNext(1, { status: 429, headers: { 'retry-after': '45' } });
    const res = await send(server(), '/v1/chat/completions', chat('stream', { stream: true }));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('45');
  });

  test('no hint, no header: a provider 500, and a quota 429 (not worth retrying) even when it sends one', async () => {
    openai.script.failNext(2, { status: 500 });
    const failed = await send(server(), '/v1/chat/completions', chat('boom'));
    expect(failed.status).toBe(502);
    expect(failed.headers.get('retry-after')).toBeNull();
    // The gateway retried it already: OpenAI's SDKs are told not to go round again.
    expect(failed.headers.get('x-should-retry')).toBe('false');

    openai.script.failNext(1, { status: 429, body: openAIQuotaErrorBody(), headers: { 'retry-after': '5' } });
    const quota = await send(server(), '/v1/chat/completions', chat('broke'));
    expect(quota.status).toBe(429);
    expect(await errorOf(quota)).toMatchObject({ code: 'provider_quota_exceeded' });
    expect(quota.headers.get('retry-after')).toBeNull();
    expect(quota.headers.get('x-should-retry')).toBe('false');
  });
});

test("OpenAI's SDK does not retry an upstream failure the gateway already retried (it made 3 rounds of the gateway's retries)", async () => {
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({ apiKey: TEST_ADMIN_KEY, baseURL: `${front.url}/v1`, maxRetries: 2 });
  openai.script.failNext(10, { status: 500 });
  const before = openai.requests.length;
  await expect(client.chat.completions.create(chat('boom') as never)).rejects.toMatchObject({ status: 502 });
  // maxAttempts 2 in this gateway: two provider calls, not six.
  expect(openai.requests.length - before).toBe(2);
  openai.script.reset();
});

test('a retryable failure the gateway called only once (a route with one attempt) is left for the client to retry', async () => {
  const once = await startBothDoors({ retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 20 } });
  try {
    once.openai.script.failNext(1, { status: 500 });
    const res = await send(once.front, '/v1/chat/completions', chat('once'));
    expect(res.status).toBe(502);
    expect(res.headers.get('x-should-retry')).toBeNull();
  } finally {
    await once.close();
  }
});

test('a gzip body, which the front hands to express, gets the hint too', async () => {
  openai.script.failNext(1, { status: 429, headers: { 'retry-after': '12' } });
  const res = await send(front, '/v1/chat/completions', chat('zipped'), {}, true);
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe('12');
});

describe("the gateway's own rate limit", () => {
  test('its 429 carries Retry-After and the x-ratelimit headers through both doors', async () => {
    await send(front, '/v1/teams', { id: 'team-rl', name: 'rl' });
    const created = await send(front, '/v1/keys', { team_id: 'team-rl', name: 'rl-key', role: 'member', rpm: 1 });
    expect(created.status).toBe(201);
    const auth = { authorization: `Bearer ${((await created.json()) as { key: string }).key}` };
    for (const [, server] of DOORS) {
      // One request a minute: of three in a row at most one crosses a window edge, so one is refused.
      let refused: Response | undefined;
      for (let i = 0; i < 3 && !refused; i++) {
        const res = await send(server(), '/v1/chat/completions', chat('count me'), auth);
        if (res.status === 429) refused = res;
        else await res.arrayBuffer();
      }
      expect(refused).toBeDefined();
      expect(await errorOf(refused!)).toMatchObject({ code: 'rate_limit_exceeded' });
      expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused!.headers.get('x-ratelimit-limit-requests')).toBe('1');
      expect(refused!.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    }
  });
});
