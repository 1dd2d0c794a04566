import type { Redis } from 'ioredis';

/*
 * A semaphore is one sorted set: member = holder token, score = lease expiry in Redis server
 * milliseconds (server time, so clocks of the worker hosts never matter). The key itself expires
 * with its last lease, so an abandoned semaphore leaves nothing behind.
 */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
const EXPIRE_WITH_LAST_LEASE = `local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], string.format('%d', tonumber(last[2]) + 1000)) end`;

/** KEYS: holders. ARGV: token, limit, leaseMs. Purges expired holders, then takes a slot if one is free: 1, else 0. */
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
${EXPIRE_WITH_LAST_LEASE}
return 1`;

/** KEYS: holders. ARGV: token, leaseMs. Extends a lease still held: 1, or 0 when it was lost. */
const RENEW = `${NOW}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
${EXPIRE_WITH_LAST_LEASE}
return 1`;

/** KEYS: holders. ARGV: token, channel, message. Frees the slot and tells waiting processes. */
const RELEASE = `local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return removed`;

export interface SemaphoreCommands {
  quireSemAcquire(key: string, token: string, limit: number, leaseMs: number): Promise<number>;
  quireSemRenew(key: string, token: string, leaseMs: number): Promise<number>;
  quireSemRelease(key: string, token: string, channel: string, message: string): Promise<number>;
}

/** Registers the scripts on a connection (ioredis sends EVALSHA, falling back to EVAL once). */
export function withSemaphoreCommands(redis: Redis): Redis & SemaphoreCommands {
  redis.defineCommand('quireSemAcquire', { numberOfKeys: 1, lua: ACQUIRE });
  redis.defineCommand('quireSemRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('quireSemRelease', { numberOfKeys: 1, lua: RELEASE });
  return redis as Redis & SemaphoreCommands;
}
