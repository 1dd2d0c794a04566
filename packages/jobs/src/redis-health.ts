import type { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from '@quire/server-kit';

/** ioredis reports one error per reconnect attempt for as long as Redis is down: one log line per this long is enough. */
export const REDIS_ERROR_LOG_INTERVAL_MS = 30_000;

export interface RedisErrorLog {
  /** Logs an error, unless one was logged less than the interval ago (those are counted into the next line). */
  (error: unknown): void;
  /** Sends a client's (or a BullMQ queue's or worker's) errors here, and says once when it is connected again. */
  watch(emitter: EventEmitter): void;
}

/**
 * An 'error' listener for Redis clients that logs through the service logger, rate-limited. A client
 * without one makes ioredis print `[ioredis] Unhandled error event` to stderr on every reconnect.
 * Clients that fail together (a queue and its connection) share one, so an outage costs one line.
 */
export function redisErrorLog(logger: Logger, msg: string, fields: Record<string, unknown>, intervalMs = REDIS_ERROR_LOG_INTERVAL_MS): RedisErrorLog {
  let lastAt = -Infinity;
  let suppressed = 0;
  let failing = false;
  const log = ((error: unknown) => {
    failing = true;
    const now = Date.now();
    if (now - lastAt < intervalMs) {
      suppressed++;
      return;
    }
    logger.warn(msg, { ...fields, err: String((error as Error | undefined)?.message ?? error), ...(suppressed > 0 ? { suppressed } : {}) });
    lastAt = now;
    suppressed = 0;
  }) as RedisErrorLog;
  log.watch = (emitter) => {
    emitter.on('error', log);
    emitter.on('ready', () => {
      if (!failing) return;
      failing = false;
      lastAt = -Infinity;
      suppressed = 0;
      logger.info('redis connection restored', fields);
    });
  };
  return log;
}

/** True when `work` settled within `ms`; it is not cancelled otherwise, and a late rejection is dropped. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true, () => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** `work`'s outcome, or `onTimeout()` thrown once `ms` pass first (`work` goes on; its late rejection is dropped). */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)));
  work.catch(() => undefined);
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** QUIT when Redis answers; otherwise, or when the QUIT does not end within `ms`, drops the connection. */
export async function closeRedisClient(client: Redis, ms: number): Promise<void> {
  if (client.status === 'ready') await settlesWithin(client.quit(), ms);
  if (client.status !== 'end') client.disconnect();
}
