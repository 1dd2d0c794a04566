import { randomUUID } from 'node:crypto';
import { MemoryCounters, RedisCounters, type Counters } from './counters.js';

const redis = new RedisCounters('redis://127.0.0.1:6379', `quire-test-${randomUUID()}:`);
afterAll(() => redis.close());

describe.each([
  ['memory', () => new MemoryCounters() as Counters],
  ['redis', () => redis as Counters],
])('%s counters that must exist', (_name, make) => {
  test('are neither checked nor created while missing; after seeding they move as any other', async () => {
    const counters = make();
    const key = `bud:${randomUUID()}`;
    const check = { key, amount: 10, mode: 'fit' as const, limit: 100, ttlMs: 60_000, mustExist: true };
    expect(await counters.tryAdd([{ ...check, key: `rl:${randomUUID()}`, mustExist: false }, check])).toMatchObject({ ok: false, failed: 1, missing: true });
    expect(await counters.add([{ key, amount: 5, ttlMs: 60_000, mustExist: true }])).toEqual([null]);
    expect(await counters.get([key])).toEqual([null]);

    await counters.seed(key, 85, 60_000);
    expect(await counters.tryAdd([check])).toMatchObject({ ok: true, missing: false, values: [95] });
    expect(await counters.tryAdd([check])).toMatchObject({ ok: false, failed: 0, missing: false, values: [95] });
    expect(await counters.add([{ key, amount: -10, ttlMs: 60_000, mustExist: true }])).toEqual([85]);
  });
});
