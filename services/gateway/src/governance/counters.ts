import { Redis } from 'ioredis';

/**
 * Integer counters with atomic check-and-add, the one primitive that budgets and rate limits need.
 * In memory for one process; in Redis (a Lua script) when several gateway replicas must share them.
 * Amounts are integers (requests, tokens, micro-dollars) so Redis never rounds.
 */
export interface CounterCheck {
  key: string;
  amount: number;
  /** `fit`: value + amount must stay within limit; `below`: the value must be under limit before adding. */
  mode: 'fit' | 'below';
  limit: number;
  ttlMs: number;
}

export interface CounterDelta {
  key: string;
  amount: number;
  ttlMs: number;
}

export interface TryAddResult {
  ok: boolean;
  /** Index of the first check that failed (-1 when ok). */
  failed: number;
  /** The values after adding (when ok) or as found (when not). */
  values: number[];
}

export interface Counters {
  tryAdd(checks: CounterCheck[]): Promise<TryAddResult>;
  /** Unconditional (settling a reservation may subtract); returns the values after. */
  add(deltas: CounterDelta[]): Promise<number[]>;
  /** Sets a counter only if it does not exist yet (seeding from the ledger). */
  seed(key: string, value: number, ttlMs: number): Promise<void>;
  get(keys: string[]): Promise<number[]>;
  close(): Promise<void>;
}

const passes = (c: CounterCheck, value: number) => (c.mode === 'fit' ? value + c.amount <= c.limit && value < c.limit : value < c.limit);

export class MemoryCounters implements Counters {
  private readonly values = new Map<string, { value: number; expiresAt: number }>();
  private sweeps = 0;

  constructor(private readonly now: () => number = Date.now) {}

  private read(key: string, now: number): number {
    const entry = this.values.get(key);
    if (!entry) return 0;
    if (entry.expiresAt <= now) {
      this.values.delete(key);
      return 0;
    }
    return entry.value;
  }

  private write(key: string, amount: number, ttlMs: number, now: number): number {
    const entry = this.values.get(key);
    if (entry && entry.expiresAt > now) {
      entry.value += amount;
      return entry.value;
    }
    this.values.set(key, { value: amount, expiresAt: now + ttlMs });
    if (++this.sweeps % 10_000 === 0) for (const [k, e] of this.values) if (e.expiresAt <= now) this.values.delete(k);
    return amount;
  }

  // Synchronous bodies: one event-loop turn, so check-and-add is atomic within the process.
  async tryAdd(checks: CounterCheck[]): Promise<TryAddResult> {
    return this.tryAddSync(checks);
  }

  tryAddSync(checks: CounterCheck[]): TryAddResult {
    const now = this.now();
    const values = checks.map((c) => this.read(c.key, now));
    const failed = checks.findIndex((c, i) => !passes(c, values[i]!));
    if (failed >= 0) return { ok: false, failed, values };
    return { ok: true, failed: -1, values: checks.map((c) => this.write(c.key, c.amount, c.ttlMs, now)) };
  }

  async add(deltas: CounterDelta[]): Promise<number[]> {
    const now = this.now();
    return deltas.map((d) => this.write(d.key, d.amount, d.ttlMs, now));
  }

  async seed(key: string, value: number, ttlMs: number): Promise<void> {
    const now = this.now();
    if ((this.values.get(key)?.expiresAt ?? 0) > now) return;
    this.values.set(key, { value, expiresAt: now + ttlMs });
  }

  async get(keys: string[]): Promise<number[]> {
    const now = this.now();
    return keys.map((k) => this.read(k, now));
  }

  async close(): Promise<void> {}
}

// ARGV per key: amount, mode (1 = fit, 0 = below), limit, ttl ms.
const TRY_ADD = `
local n = #KEYS
local vals = {}
for i = 1, n do vals[i] = tonumber(redis.call('GET', KEYS[i]) or '0') end
for i = 1, n do
  local amount = tonumber(ARGV[(i - 1) * 4 + 1])
  local fit = ARGV[(i - 1) * 4 + 2] == '1'
  local limit = tonumber(ARGV[(i - 1) * 4 + 3])
  local ok
  if fit then ok = vals[i] + amount <= limit and vals[i] < limit else ok = vals[i] < limit end
  if not ok then
    local out = {0, i - 1}
    for j = 1, n do out[j + 2] = vals[j] end
    return out
  end
end
local out = {1, -1}
for i = 1, n do
  local v = redis.call('INCRBY', KEYS[i], ARGV[(i - 1) * 4 + 1])
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 4 + 4]) end
  out[i + 2] = v
end
return out`;

const ADD = `
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('INCRBY', KEYS[i], ARGV[(i - 1) * 2 + 1])
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 2 + 2]) end
end
return out`;

export class RedisCounters implements Counters {
  private readonly redis: Redis;

  constructor(url: string, private readonly prefix = 'quire:gov:') {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
    this.redis.defineCommand('quireTryAdd', { lua: TRY_ADD });
    this.redis.defineCommand('quireAdd', { lua: ADD });
  }

  async tryAdd(checks: CounterCheck[]): Promise<TryAddResult> {
    const args = checks.flatMap((c) => [String(Math.round(c.amount)), c.mode === 'fit' ? '1' : '0', String(c.limit), String(c.ttlMs)]);
    const run = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<number[]>>).quireTryAdd!;
    const out = await run.call(this.redis, checks.length, ...checks.map((c) => this.prefix + c.key), ...args);
    return { ok: out[0] === 1, failed: Number(out[1]), values: out.slice(2).map(Number) };
  }

  async add(deltas: CounterDelta[]): Promise<number[]> {
    if (deltas.length === 0) return [];
    const run = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<number[]>>).quireAdd!;
    const out = await run.call(this.redis, deltas.length, ...deltas.map((d) => this.prefix + d.key), ...deltas.flatMap((d) => [String(Math.round(d.amount)), String(d.ttlMs)]));
    return out.map(Number);
  }

  async seed(key: string, value: number, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, String(Math.round(value)), 'PX', ttlMs, 'NX');
  }

  async get(keys: string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const values = await this.redis.mget(...keys.map((k) => this.prefix + k));
    return values.map((v) => Number(v ?? 0));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
