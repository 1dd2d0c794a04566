import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError, type Logger } from '@quire/server-kit';
import type { AbortableSemaphore } from './counting-semaphore.js';
import type { SemaphoreCommands } from './redis-semaphore-commands.js';

export interface RedisSemaphoreDeps {
  redis: Redis & SemaphoreCommands;
  key: string;
  /** Where releases are published, and the message naming this semaphore. */
  channel: string;
  name: string;
  limit: number;
  leaseMs: number;
  pollMinMs: number;
  pollMaxMs: number;
  /** Aborted when the owner closes: waits end with its reason, renewals stop. */
  closed: AbortSignal;
  logger: Logger | undefined;
}

export interface RedisSemaphore extends AbortableSemaphore {
  /** A slot was released somewhere: the waiting poller tries again now instead of after its backoff. */
  notify(): void;
}

/**
 * One distributed counting semaphore. Within a process waiters queue FIFO and only the head polls
 * Redis (backoff with jitter, woken early by release notifications); across processes each head
 * competes through the atomic acquire script. A holder renews its lease while `fn` runs.
 */
export function createRedisSemaphore(deps: RedisSemaphoreDeps): RedisSemaphore {
  const { redis, key } = deps;
  let holding = 0;
  let tail: Promise<void> = Promise.resolve();
  let wake: (() => void) | null = null;
  let notified = false;

  const unavailable = (error: unknown) =>
    new AppError('service_unavailable', `Could not take a concurrency slot for ${deps.name}: Redis did not answer.`, { cause: error });

  function pause(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (error?: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        wake = null;
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = () => settle(signal.reason);
      const timer = setTimeout(() => settle(), ms);
      wake = () => settle();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async function poll(token: string, signal: AbortSignal): Promise<void> {
    let delay = deps.pollMinMs;
    for (;;) {
      signal.throwIfAborted();
      notified = false;
      let acquired: number;
      try {
        acquired = await redis.quireSemAcquire(key, token, deps.limit, deps.leaseMs);
      } catch (error) {
        // The script may have run with its answer lost; the lease bounds that, releasing shortens it.
        void redis.quireSemRelease(key, token, deps.channel, deps.name).catch(() => undefined);
        throw unavailable(error);
      }
      if (acquired === 1) return;
      if (notified) continue;
      // Full jitter over the upper half, so heads of different processes do not poll in step.
      await pause(Math.round(delay / 2 + (Math.random() * delay) / 2), signal);
      delay = Math.min(deps.pollMaxMs, delay * 2);
    }
  }

  /** Waits for this process's earlier waiters (FIFO), then polls; an abort leaves the line at once. */
  async function acquire(signal: AbortSignal): Promise<string> {
    const previous = tail;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    tail = previous.then(() => mine);
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        void previous.then(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
      const token = randomUUID();
      await poll(token, signal);
      return token;
    } finally {
      done();
    }
  }

  function renew(token: string): void {
    if (deps.closed.aborted) return;
    redis.quireSemRenew(key, token, deps.leaseMs).then(
      (held) => {
        if (held === 0) deps.logger?.warn('concurrency slot lease lost while running (renewal came too late)', { key });
      },
      (error: unknown) => deps.logger?.warn('could not renew a concurrency slot lease', { key, err: String(error) }),
    );
  }

  return {
    async run(fn, options) {
      const signal = options?.signal ? AbortSignal.any([deps.closed, options.signal]) : deps.closed;
      const token = await acquire(signal);
      holding++;
      const renewal = setInterval(() => renew(token), Math.max(50, Math.floor(deps.leaseMs / 3)));
      renewal.unref();
      try {
        return await fn();
      } finally {
        clearInterval(renewal);
        holding--;
        // A failed release is not the caller's failure: the lease frees the slot soon anyway.
        await redis
          .quireSemRelease(key, token, deps.channel, deps.name)
          .catch((error: unknown) => deps.logger?.warn('could not release a concurrency slot; its lease will', { key, err: String(error) }));
      }
    },
    get inFlight() {
      return holding;
    },
    notify() {
      notified = true;
      wake?.();
    },
  };
}
