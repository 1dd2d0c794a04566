import { setMaxListeners } from 'node:events';
import { Redis } from 'ioredis';
import { AppError, redisKeyPrefix, type Logger } from '@quire/server-kit';
import type { AbortableSemaphore } from './counting-semaphore.js';
import { closeRedisClient, redisErrorLog } from './redis-health.js';
import { withSemaphoreCommands } from './redis-semaphore-commands.js';
import { createRedisSemaphore, type RedisSemaphore } from './redis-semaphore.js';
import { redisSemaphoresSettingsSchema, type RedisSemaphoresSettings } from './redis-semaphores-settings.js';

export interface RedisSemaphores {
  /** The semaphore for one name (e.g. a provider), created on first use; `limit` slots per name. */
  forName(name: string): AbortableSemaphore;
  /** Ends waits (they reject with a retryable `service_unavailable`), stops renewals, closes both connections. */
  close(): Promise<void>;
}

/**
 * The semaphores' keys, `quire:sem:<namespace>:<name>`, under a deployment's namespace (QUIRE_REDIS_PREFIX)
 * when it has one; their release channel is `<prefix>released`. Pub/Sub channels are not per Redis
 * database, so the prefix keeps deployments' wake-ups apart too.
 */
export function redisSemaphoresKeyPrefix(namespace: string, redisNamespace?: string): string {
  return `${redisKeyPrefix(redisNamespace, 'quire:sem:')}${namespace}:`;
}

/**
 * Named counting semaphores shared by every process using the same Redis and namespace. One
 * connection runs the scripts (failing fast, so a Redis outage fails the attempt and the job
 * retries) and one listens for releases.
 */
export function createRedisSemaphores(settings: RedisSemaphoresSettings, logger?: Logger): RedisSemaphores {
  const s = redisSemaphoresSettingsSchema.parse(settings);
  const prefix = redisSemaphoresKeyPrefix(s.namespace, s.redisNamespace);
  const channel = `${prefix}released`;
  const closing = new AbortController();
  // Every waiting run listens on it until its turn comes.
  setMaxListeners(0, closing.signal);
  // disconnectTimeout: ioredis otherwise keeps a never-connected socket (and a timer) for 2 s after close().
  const redis = withSemaphoreCommands(new Redis(s.redisUrl, { maxRetriesPerRequest: 1, disconnectTimeout: 200 }));
  const subscriber = new Redis(s.redisUrl, { maxRetriesPerRequest: null, disconnectTimeout: 200 });
  const semaphores = new Map<string, RedisSemaphore>();
  // One rate-limited line per outage for both connections; without a logger the errors are still handled (no ioredis stderr spam).
  const errors = logger ? redisErrorLog(logger, 'semaphore redis connection error', { namespace: s.namespace }) : undefined;
  for (const c of [redis, subscriber]) {
    if (errors) errors.watch(c);
    else c.on('error', () => undefined);
  }
  subscriber.on('message', (_channel: string, name: string) => semaphores.get(name)?.notify());
  // Without notifications waiters still poll; they only wake later.
  subscriber.subscribe(channel).catch((error: unknown) => logger?.warn('could not subscribe to semaphore releases', { err: String(error) }));

  return {
    forName(name) {
      let semaphore = semaphores.get(name);
      if (!semaphore) {
        semaphore = createRedisSemaphore({ redis, key: prefix + name, channel, name, limit: s.limit, leaseMs: s.leaseMs, pollMinMs: s.pollMinMs, pollMaxMs: s.pollMaxMs, closed: closing.signal, logger });
        semaphores.set(name, semaphore);
      }
      return semaphore;
    },
    async close() {
      if (closing.signal.aborted) return;
      closing.abort(new AppError('service_unavailable', 'The service is stopping; the wait for a concurrency slot ended.'));
      // QUIT waits for a connection that never came up (it would queue forever): those are dropped, and so is one whose QUIT hangs.
      await Promise.all([redis, subscriber].map((c) => closeRedisClient(c, 1_000)));
    },
  };
}
