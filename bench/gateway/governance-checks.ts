/**
 * What the front door costs per request: API-key verification (parse + checksum + cached row +
 * SHA-256 + constant-time compare), the allow-list check, the rate-limit admission and the budget
 * reservation + settlement, each timed alone in a loop against the in-memory counters (and Redis,
 * when REDIS_URL is set). `node --import tsx bench/gateway/governance-checks.ts`
 */
import { openTestDatabase } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import { Authenticator, modelAllowed } from '../../services/gateway/src/governance/authenticator.js';
import { Budgets } from '../../services/gateway/src/governance/budgets.js';
import { MemoryCounters, RedisCounters, type Counters } from '../../services/gateway/src/governance/counters.js';
import { hashSecret, newKey } from '../../services/gateway/src/governance/key-format.js';
import { RateLimiter } from '../../services/gateway/src/governance/rate-limits.js';
import { GovernanceStore } from '../../services/gateway/src/governance/store.js';

const db = await openTestDatabase();
const store = new GovernanceStore(db);
await store.insertTeam({ id: 'bench', name: 'bench', allowed_models: ['openai/*'], rpm: 1_000_000_000, tpm: 1_000_000_000 });
const k = newKey();
await store.insertKey({ id: k.id, team_id: 'bench', name: 'b', role: 'member', groups: [], allowed_models: null, rpm: 1_000_000_000, tpm: 1_000_000_000, secret_hash: hashSecret(k.secret), expires_at: null, created_by: 'bench' });
await store.upsertBudget({ scope: 'team', scope_id: 'bench', period: 'month', limit_usd: '1000000', soft_fraction: '1', alert_webhook: null, updated_by: 'bench' });
await store.upsertBudget({ scope: 'key', scope_id: k.id, period: 'day', limit_usd: '1000000', soft_fraction: '1', alert_webhook: null, updated_by: 'bench' });
const logger = createLogger({ bench: 'governance' }, 'error');
const header = `Bearer ${k.key}`;

async function time(name: string, n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < n; i++) await fn(); // warm-up (JIT)
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const us = Number(process.hrtime.bigint() - start) / 1000 / n;
  console.log(`${name.padEnd(44)} ${us.toFixed(2).padStart(8)} µs`);
  return us;
}

async function run(label: string, counters: Counters, n: number) {
  console.log(`\n${label} (${n} iterations each)`);
  const auth = new Authenticator(store, 60_000);
  const budgets = new Budgets(store, counters, logger, 60_000);
  const rates = new RateLimiter(counters);
  const { identity, policy } = await auth.authenticate(header, undefined);
  const a = await time('auth: parse + checksum only', n, () => Authenticator.parseHeader(header));
  const b = await time('auth: full (cached row, sha256, compare)', n, () => auth.authenticate(header, undefined));
  const c = await time('allow list', n, () => modelAllowed(policy, 'openai/gpt-4o-mini'));
  const d = await time('rate limit: admit (rpm+tpm, key+team)', n, () => rates.admit(identity, policy, 100));
  const e = await time('budget: reserve + settle (team+key)', n, async () => {
    const r = await budgets.reserve(identity, 100);
    r!.actual = 50;
    await budgets.settle(r!);
  });
  console.log(`${'total per request'.padEnd(44)} ${(b + c + d + e).toFixed(2).padStart(8)} µs  (parse alone ${a.toFixed(2)} µs)`);
}

await run('in-memory counters', new MemoryCounters(), 20_000);
if (process.env.REDIS_URL) {
  const redis = new RedisCounters(process.env.REDIS_URL, `quire-bench-${process.pid}:`);
  await run('Redis counters (one round trip per check)', redis, 2000);
  await redis.close();
}
await db.close();
