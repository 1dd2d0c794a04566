import type { Cluster, Redis } from 'ioredis';

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
 * Redis Cluster: a script may touch only the keys it is given in KEYS, and those must share a hash
 * slot. So the job keys of the members to check are read first (fairAdmitArgs) and passed in KEYS,
 * and the script checks each again, atomically, before it drops it (the set may have changed in
 * between). The sorted set lives under the queue's own key prefix, which on Cluster carries BullMQ's
 * hash tag (`{bull}:queue:` or `bull:{queue}:`): the set and the queue's job keys share its slot.
 *
 * KEYS: members, then the job key of each member to check. ARGV: job id, grace ms, idle ttl ms, then
 * the member to check for each job key, in the same order. Answers the key's number of jobs in the
 * queue, this one included.
 */
const ADMIT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now - tonumber(ARGV[2])
for i = 2, #KEYS do
  local member = ARGV[i + 2]
  local score = redis.call('ZSCORE', KEYS[1], member)
  if score and tonumber(score) < cutoff and redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('ZREM', KEYS[1], member)
  end
end
redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
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
 * The sorted set of a fairness key's jobs, under the queue's key prefix (so in the slot of its job
 * keys). BullMQ's keys under the prefix are its fixed names, job ids and `<job id>:<suffix>`: this one
 * could clash only with a job whose id is `quire-fair` or starts `quire-fair:`.
 */
export function fairRankMembersKey(jobKeyPrefix: string, key: string): string {
  return `${jobKeyPrefix}quire-fair:${key}`;
}

/**
 * The arguments of one admission (numkeys, KEYS, then ARGV, as EVAL takes them), given the members
 * to check for leaks: every key the script touches, the members set and those members' job keys.
 */
export function fairAdmitArgs(jobKeyPrefix: string, key: string, jobId: string, candidates: readonly string[]): (string | number)[] {
  return [
    1 + candidates.length,
    fairRankMembersKey(jobKeyPrefix, key),
    ...candidates.map((member) => `${jobKeyPrefix}${member}`),
    jobId,
    LEAK_GRACE_MS,
    IDLE_TTL_MS,
    ...candidates,
  ];
}

type Scripted = { quireFairAdmit(...args: (string | number)[]): Promise<number> };

/**
 * The ranks of one queue's fairness keys. `jobKeyPrefix` (BullMQ's `queue.toKey('')`) makes a job id
 * into its BullMQ hash key, which exists exactly while the job is in the queue (finished jobs are
 * removed); the fairness sets live under it too.
 */
export function createFairRanks(redis: Redis | Cluster, jobKeyPrefix: string): FairRanks {
  // numkeys goes with each call: an admission declares as many job keys as it has members to check.
  redis.defineCommand('quireFairAdmit', { lua: ADMIT });
  const admitScript = (redis as (Redis | Cluster) & Scripted).quireFairAdmit.bind(redis);
  return {
    async admit(key, jobId) {
      const members = fairRankMembersKey(jobKeyPrefix, key);
      // The oldest members, where leaks end up; the script checks each one's age and job itself.
      const candidates = await redis.zrange(members, '0', String(LEAK_CHECKS - 1));
      const rank = await admitScript(...fairAdmitArgs(jobKeyPrefix, key, jobId, candidates));
      return Math.min(rank, MAX_PRIORITY);
    },
    async release(key, jobId) {
      await redis.zrem(fairRankMembersKey(jobKeyPrefix, key), jobId);
    },
  };
}
