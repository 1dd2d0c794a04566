import type { Identity } from '@quire/contracts';
import type { Policy } from './authenticator.js';
import { MemoryCounters } from './counters.js';
import { RateLimiter } from './rate-limits.js';
import type { KeyRow, TeamRow } from './store.js';

const identity: Identity = { team_id: 't1', key_id: 'k1', role: 'member', groups: [] };
const policy = (key: { rpm?: number; tpm?: number }, team: { rpm?: number; tpm?: number } = {}): Policy => ({
  key: { rpm: key.rpm ?? null, tpm: key.tpm ?? null } as KeyRow,
  team: { rpm: team.rpm ?? null, tpm: team.tpm ?? null } as TeamRow,
});
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: { code: string; headers?: Record<string, string>; details?: unknown }) => e);

describe('RateLimiter', () => {
  const now = () => 1_800_000_000_000 + 10_000; // 10 s into a window
  const limiter = () => {
    const counters = new MemoryCounters(now);
    return { counters, rates: new RateLimiter(counters, now) };
  };

  test('a platform request (0 tokens) counts one request and waits only while the token window is full', async () => {
    const { rates } = limiter();
    const p = policy({ rpm: 5, tpm: 100 });
    const first = await rates.admit(identity, p, 0);
    expect(first.headers).toMatchObject({ 'x-ratelimit-remaining-requests': '4', 'x-ratelimit-remaining-tokens': '100', 'x-ratelimit-reset-requests': '50s' });
    // The services' model calls for it add their real tokens, without a request.
    const inner = rates.meterTokens(identity, p);
    expect(inner.headers).toEqual({});
    await rates.correctTokens(inner, 100);
    const refused = await refusal(rates.admit(identity, p, 0));
    expect(refused).toMatchObject({ code: 'rate_limit_exceeded', details: { scope: 'key', kind: 'tokens', limit: 100 } });
    expect(refused!.headers).toMatchObject({ 'retry-after': '50', 'x-ratelimit-remaining-requests': '4', 'x-ratelimit-remaining-tokens': '0' });
  });

  test("internal calls never take a request: the caller's rpm is left for the caller", async () => {
    const { rates } = limiter();
    const p = policy({ rpm: 2 }, { tpm: 1000 });
    await rates.admit(identity, p, 0);
    for (let i = 0; i < 5; i++) await rates.correctTokens(rates.meterTokens(identity, p), 10);
    const second = await rates.admit(identity, p, 0);
    expect(second.headers).toMatchObject({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-remaining-tokens': '950' });
    expect(await refusal(rates.admit(identity, p, 0))).toMatchObject({ code: 'rate_limit_exceeded', details: { kind: 'requests', limit: 2 } });
  });

  test('with no token limit an internal call has nothing to meter', async () => {
    const { rates, counters } = limiter();
    const inner = rates.meterTokens(identity, policy({ rpm: 3 }));
    expect(inner.tokenKeys).toEqual([]);
    await rates.correctTokens(inner, 500);
    expect(await counters.get(['rl:key:k1:requests:1800000000000'])).toEqual([null]);
  });
});
