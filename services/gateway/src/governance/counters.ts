import { Redis } from 'ioredis';
import { AppError, createLogger, redisKeyPrefix, type Logger } from '@quire/server-kit';

/**
 * Integer counters with atomic check-and-add, the one primitive that budgets and rate limits need.
 * In memory for one process; in Redis (a Lua script) when several gateway replicas must share them.
 * Amounts are integers (requests, tokens, nano-dollars) so Redis never rounds.
 */
export interface CounterCheck {
  key: string;
  amount: number;
  /** `fit`: value + amount must stay within limit; `below`: the value must be under limit before adding. */
  mode: 'fit' | 'below';
  limit: number;
  ttlMs: number;
  /**
   * Budget counters start from the ledger's spend, not from zero: one that does not exist (never
   * seeded, or lost with a Redis restart or eviction) fails the whole call with `missing` instead of
   * being created, so the caller seeds it and tries again.
   */
  mustExist?: boolean;
}

export interface CounterDelta {
  key: string;
  amount: number;
  ttlMs: number;
  /** As for CounterCheck: a missing counter is left missing and its value comes back null. */
  mustExist?: boolean;
}

export interface TryAddResult {
  ok: boolean;
  /** Index of the first check that failed (-1 when ok). */
  failed: number;
  /** The failed check's counter does not exist (`mustExist` only): seed it, then retry. */
  missing: boolean;
  /** The values after adding (when ok) or as found (when not; 0 for a missing counter). */
  values: number[];
}

export interface Counters {
  tryAdd(checks: CounterCheck[]): Promise<TryAddResult>;
  /** Unconditional (settling a reservation may subtract); returns the values after (null: a `mustExist` counter that is missing). */
  add(deltas: CounterDelta[]): Promise<(number | null)[]>;
  /** Sets a counter only if it does not exist yet (seeding from the ledger). */
  seed(key: string, value: number, ttlMs: number): Promise<void>;
  /** Current values; null for a counter that does not exist. */
  get(keys: string[]): Promise<(number | null)[]>;
  /** Throws, within about a second, when the counters' store does not answer (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const passes = (c: CounterCheck, value: number) => (c.mode === 'fit' ? value + c.amount <= c.limit && value < c.limit : value < c.limit);

export class MemoryCounters implements Counters {
  private readonly values = new Map<string, { value: number; expiresAt: number }>();
  private sweeps = 0;

  constructor(private readonly now: () => number = Date.now) {}

  private read(key: string, now: number): number | null {
    const entry = this.values.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= now) {
      this.values.delete(key);
      return null;
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
    const found = checks.map((c) => this.read(c.key, now));
    const values = found.map((v) => v ?? 0);
    const missing = checks.findIndex((c, i) => c.mustExist && found[i] === null);
    if (missing >= 0) return { ok: false, failed: missing, missing: true, values };
    const failed = checks.findIndex((c, i) => !passes(c, values[i]!));
    if (failed >= 0) return { ok: false, failed, missing: false, values };
    return { ok: true, failed: -1, missing: false, values: checks.map((c) => this.write(c.key, c.amount, c.ttlMs, now)) };
  }

  async add(deltas: CounterDelta[]): Promise<(number | null)[]> {
    const now = this.now();
    return deltas.map((d) => (d.mustExist && this.read(d.key, now) === null ? null : this.write(d.key, d.amount, d.ttlMs, now)));
  }

  async seed(key: string, value: number, ttlMs: number): Promise<void> {
    const now = this.now();
    if ((this.values.get(key)?.expiresAt ?? 0) > now) return;
    this.values.set(key, { value, expiresAt: now + ttlMs });
  }

  async get(keys: string[]): Promise<(number | null)[]> {
    const now = this.now();
    return keys.map((k) => this.read(k, now));
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}

// ARGV per key: amount, mode (1 = fit, 0 = below), limit, ttl ms, must exist (1/0).
// Returns {ok, failed index, missing, values...}.
const TRY_ADD = `
local n = #KEYS
local vals = {}
for i = 1, n do
  local raw = redis.call('GET', KEYS[i])
  if not raw and ARGV[(i - 1) * 5 + 5] == '1' then
    local out = {0, i - 1, 1}
    for j = 1, n do out[j + 3] = 0 end
    return out
  end
  vals[i] = tonumber(raw or '0')
end
for i = 1, n do
  local amount = tonumber(ARGV[(i - 1) * 5 + 1])
  local fit = ARGV[(i - 1) * 5 + 2] == '1'
  local limit = tonumber(ARGV[(i - 1) * 5 + 3])
  local ok
  if fit then ok = vals[i] + amount <= limit and vals[i] < limit else ok = vals[i] < limit end
  if not ok then
    local out = {0, i - 1, 0}
    for j = 1, n do out[j + 3] = vals[j] end
    return out
  end
end
local out = {1, -1, 0}
for i = 1, n do
  local v = redis.call('INCRBY', KEYS[i], ARGV[(i - 1) * 5 + 1])
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 5 + 4]) end
  out[i + 3] = v
end
return out`;

// ARGV per key: amount, ttl ms, must exist (1/0). A missing must-exist counter answers false (nil).
const ADD = `
local out = {}
for i = 1, #KEYS do
  if ARGV[(i - 1) * 3 + 3] == '1' and redis.call('EXISTS', KEYS[i]) == 0 then
    out[i] = false
  else
    out[i] = redis.call('INCRBY', KEYS[i], ARGV[(i - 1) * 3 + 1])
    if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 3 + 2]) end
  end
end
return out`;

/** ioredis reports one error per reconnect attempt while Redis is down: one line per this long is enough. */
const ERROR_LOG_INTERVAL_MS = 30_000;
const PING_TIMEOUT_MS = 1_000;
const QUIT_TIMEOUT_MS = 1_000;
/** ioredis states in which Redis is known lost (between reconnect attempts) or the client is closed. */
const LOST = new Set(['reconnecting', 'close', 'end']);

/**
 * Where a deployment's governance counters live in Redis: `quire:gov:` (the keys of every earlier
 * version, so an upgrade keeps its counters), under `<namespace>:` with QUIRE_REDIS_PREFIX, so that
 * deployments sharing one Redis database count apart.
 */
export function governanceKeyPrefix(namespace?: string): string {
  return redisKeyPrefix(namespace, 'quire:gov:');
}

export class RedisCounters implements Counters {
  private readonly redis: Redis;

  /** `logger` gets the connection's errors (rate-limited); without one they go to a gateway logger of its own. */
  constructor(url: string, private readonly prefix = governanceKeyPrefix(), logger: Logger = createLogger({ service: 'gateway' })) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false, disconnectTimeout: 200 });
    this.redis.defineCommand('quireTryAdd', { lua: TRY_ADD });
    this.redis.defineCommand('quireAdd', { lua: ADD });
    logConnectionErrors(this.redis, logger);
  }

  async tryAdd(checks: CounterCheck[]): Promise<TryAddResult> {
    const args = checks.flatMap((c) => [String(Math.round(c.amount)), c.mode === 'fit' ? '1' : '0', String(c.limit), String(c.ttlMs), c.mustExist ? '1' : '0']);
    const run = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<number[]>>).quireTryAdd!;
    const out = await run.call(this.redis, checks.length, ...checks.map((c) => this.prefix + c.key), ...args);
    return { ok: out[0] === 1, failed: Number(out[1]), missing: out[2] === 1, values: out.slice(3).map(Number) };
  }

  async add(deltas: CounterDelta[]): Promise<(number | null)[]> {
    if (deltas.length === 0) return [];
    const run = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<(number | null)[]>>).quireAdd!;
    const args = deltas.flatMap((d) => [String(Math.round(d.amount)), String(d.ttlMs), d.mustExist ? '1' : '0']);
    const out = await run.call(this.redis, deltas.length, ...deltas.map((d) => this.prefix + d.key), ...args);
    return out.map((v) => (v === null ? null : Number(v)));
  }

  async seed(key: string, value: number, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, String(Math.round(value)), 'PX', ttlMs, 'NX');
  }

  async get(keys: string[]): Promise<(number | null)[]> {
    if (keys.length === 0) return [];
    const values = await this.redis.mget(...keys.map((k) => this.prefix + k));
    return values.map((v) => (v === null ? null : Number(v)));
  }

  async ping(): Promise<void> {
    // Not left to the offline queue while Redis is lost: every governed call fails meanwhile, so the replica is not ready now.
    if (LOST.has(this.redis.status)) throw new AppError('service_unavailable', `Redis (budgets and rate limits) is not connected (${this.redis.status}).`);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new AppError('service_unavailable', `Redis (budgets and rate limits) did not answer within ${PING_TIMEOUT_MS} ms.`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.redis.ping(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    // QUIT waits behind commands queued for a Redis that is gone: bounded, then the connection is dropped.
    if (this.redis.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.redis.quit().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS)))]);
      clearTimeout(timer);
    }
    if (this.redis.status !== 'end') this.redis.disconnect();
  }
}

/**
 * Logs the client's errors through the logger, the first at once and then at most one line per
 * interval (counting the ones left out), and says when the connection is back. Without an 'error'
 * listener ioredis prints `[ioredis] Unhandled error event` to stderr on every reconnect attempt.
 */
function logConnectionErrors(redis: Redis, logger: Logger): void {
  let lastAt = -Infinity;
  let suppressed = 0;
  let failing = false;
  redis.on('error', (error: Error) => {
    failing = true;
    const now = Date.now();
    if (now - lastAt < ERROR_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    logger.warn('budgets and rate limits: redis connection error', { err: error.message, ...(suppressed > 0 ? { suppressed } : {}) });
    lastAt = now;
    suppressed = 0;
  });
  redis.on('ready', () => {
    if (!failing) return;
    failing = false;
    lastAt = -Infinity;
    suppressed = 0;
    logger.info('budgets and rate limits: redis connection restored');
  });
}
