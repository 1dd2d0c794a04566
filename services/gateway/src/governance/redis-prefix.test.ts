import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { governanceRedisOf, readGatewayEnv } from '../config.js';
import { ADMIN_AUTH, startHarness, TEST_ADMIN_KEY_ID, type Harness } from '../testing/gateway-harness.js';
import { governanceKeyPrefix, RedisCounters } from './counters.js';

/**
 * QUIRE_REDIS_PREFIX: deployments sharing one Redis database keep their governance counters apart,
 * and a deployment without it keeps the keys of earlier versions (an upgrade loses no counters).
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL);
const run = randomUUID().slice(0, 8);
const namespaces = { a: `test-a-${run}`, b: `test-b-${run}` };

async function dropKeys(pattern: string): Promise<void> {
  const keys = await redis.keys(pattern);
  if (keys.length > 0) await redis.del(...keys);
}

afterAll(async () => {
  for (const namespace of Object.values(namespaces)) await dropKeys(`${namespace}:*`);
  await redis.quit();
});

describe('the default prefix', () => {
  test("is today's: quire:gov:<key>", async () => {
    expect(governanceKeyPrefix()).toBe('quire:gov:');
    expect(governanceRedisOf(readGatewayEnv({ REDIS_URL }))).toEqual({ redisUrl: REDIS_URL, redisPrefix: 'quire:gov:' });
    const key = `test-default-${randomUUID()}`;
    const counters = new RedisCounters(REDIS_URL);
    try {
      await counters.tryAdd([{ key, amount: 3, mode: 'fit', limit: 10, ttlMs: 60_000 }]);
      expect(await redis.get(`quire:gov:${key}`)).toBe('3');
    } finally {
      await counters.close();
      await redis.del(`quire:gov:${key}`);
    }
  });
});

describe('two gateways with different QUIRE_REDIS_PREFIX on one Redis database', () => {
  let db: Db;
  let openai: FakeOpenAI;
  const gateways: Harness[] = [];
  /** A gateway as main.ts and `pnpm start` configure it from these settings. */
  const gatewayIn = (namespace: string) =>
    startHarness(db, { providers: { primary: openai.url }, extra: { governance: governanceRedisOf(readGatewayEnv({ REDIS_URL, QUIRE_REDIS_PREFIX: namespace })) } });

  beforeAll(async () => {
    [db, openai] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test' })]);
  }, 60_000);
  afterAll(async () => {
    for (const gateway of gateways) await gateway.close();
    await openai?.close();
    await db?.close();
  });

  const chat = async (gateway: Harness) =>
    (await gateway.post('/v1/chat/completions', { model: 'primary/gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there' }] })).status;

  test('count apart: one key rate-limited in one deployment is not in the other; a replica of the same deployment shares its count', async () => {
    const [a, b, aReplica] = await Promise.all([gatewayIn(namespaces.a), gatewayIn(namespaces.b), gatewayIn(namespaces.a)]);
    gateways.push(a!, b!, aReplica!);
    // The same key (the bootstrap admin key, same database) allowed 3 requests a minute.
    const patched = await fetch(`${a!.url}/v1/keys/${TEST_ADMIN_KEY_ID}`, { method: 'PATCH', headers: { ...ADMIN_AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ rpm: 3 }) });
    expect(patched.status).toBe(200);
    // Fixed one-minute windows: stay clear of a boundary so the whole test falls in one window.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 8000) await new Promise((resolve) => setTimeout(resolve, left + 100));

    const inA = [await chat(a!), await chat(a!), await chat(a!), await chat(a!)];
    expect(inA).toEqual([200, 200, 200, 429]);
    // Another deployment's count of the same key starts from nothing ...
    expect([await chat(b!), await chat(b!), await chat(b!), await chat(b!)]).toEqual([200, 200, 200, 429]);
    // ... while a second replica of the first deployment sees the first's count.
    expect(await chat(aReplica!)).toBe(429);

    // Each deployment's keys are today's names under its namespace.
    const window = Math.floor(Date.now() / 60_000) * 60_000;
    for (const namespace of Object.values(namespaces)) {
      expect(await redis.get(`${namespace}:quire:gov:rl:key:${TEST_ADMIN_KEY_ID}:requests:${window}`)).toBe('3');
    }
  }, 60_000);
});
