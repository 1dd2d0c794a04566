import type { Redis } from 'ioredis';

/** BullMQ's largest priority; a longer backlog shares the last rank (first come first served there). */
export const MAX_PRIORITY = 2_097_151;
/** Members older than this whose job is gone count as leaked: far longer than an enqueue takes. */
const LEAK_GRACE_MS = 60_000;
/** How many of a key's oldest members each admission checks for leaks. */
const LEAK_CHECKS = 10;
/** A key that admits nothing for this long is forgotten; its members then can only be leaks or stragglers. */
const IDLE_TTL_MS = 7 * 24 * 3_600_000;

/*
 * A key's jobs still in the queue (waiting, delayed for a retry, or running) are one sorted set:
 * member = job id, score = when it was admitted (Redis server ms). Members are a set, not a counter,
 * so that a duplicate enqueue or a second release changes nothing.
 *
 * A member whose job left the queue without a release (its worker died in between, or BullMQ failed
 * it without running it) is a leak. Leaks only get older while the key's live jobs come and go, so
 * they reach the front of the set, where each admission checks whether their job still exists.
 *
 * KEYS: members. ARGV: job id, job key prefix, checks, grace ms, idle ttl ms. Answers the key's
 * number of jobs in the queue, this one included.
 */
const ADMIT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local oldest = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1, 'WITHSCORES')
for i = 1, #oldest, 2 do
  if tonumber(oldest[i + 1]) < now - tonumber(ARGV[4]) and redis.call('EXISTS', ARGV[2] .. oldest[i]) == 0 then
    redis.call('ZREM', KEYS[1], oldest[i])
  end
end
redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return redis.call('ZCARD', KEYS[1])`;

export interface FairRanks {
  /**
   * Counts the job under its key and answers its rank: 1 for a key with nothing else in the queue, N
   * for its Nth. Used as the BullMQ priority, so another key's first job goes before this key's second.
   */
  admit(key: string, jobId: string): Promise<number>;
  /** The job left the queue for good (done, failed with no retry left, discarded). */
  release(key: string, jobId: string): Promise<void>;
}

/**
 * The ranks of one queue's fairness keys. `jobKeyPrefix` makes a job id into its BullMQ hash key,
 * which exists exactly while the job is in the queue (finished jobs are removed).
 */
export function createFairRanks(redis: Redis, queueName: string, jobKeyPrefix: string): FairRanks {
  redis.defineCommand('quireFairAdmit', { numberOfKeys: 1, lua: ADMIT });
  const admitScript = (redis as Redis & { quireFairAdmit(...args: (string | number)[]): Promise<number> }).quireFairAdmit.bind(redis);
  const members = (key: string) => `quire:fair:${queueName}:${key}`;
  return {
    async admit(key, jobId) {
      const rank = await admitScript(members(key), jobId, jobKeyPrefix, LEAK_CHECKS, LEAK_GRACE_MS, IDLE_TTL_MS);
      return Math.min(rank, MAX_PRIORITY);
    },
    async release(key, jobId) {
      await redis.zrem(members(key), jobId);
    },
  };
}
