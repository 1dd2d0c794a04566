import { createRedisSemaphores, type AbortableSemaphore } from '@quire/jobs';
import type { Logger } from '@quire/server-kit';

/**
 * A counting semaphore; FIFO so a long job cannot starve the others. A waiter whose signal aborts
 * leaves the queue without taking a slot, so a stopped job does not hold up the ones behind it.
 */
export class Semaphore implements AbortableSemaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>, options?: { signal?: AbortSignal }): Promise<T> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    if (this.active >= this.limit) await this.wait(signal);
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Resolves once a releasing holder hands its slot over (the slot count stays as it was). */
  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      // Only a waiter still queued can abort: once granted, it owns the slot and must release it.
      const onAbort = () => {
        const at = this.waiting.indexOf(grant);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        reject(signal!.reason);
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get inFlight(): number {
    return this.active;
  }
}

/** Bounds concurrent embedding calls per provider (the part of `provider/model` before the slash). */
export interface ProviderLimiter {
  forModel(model: string): AbortableSemaphore;
}

/** A limiter the service owns and closes on stop. */
export interface OwnedProviderLimiter extends ProviderLimiter {
  close(): Promise<void>;
}

const providerOf = (model: string) => model.split('/')[0] ?? model;

/** In this process only: the bound when jobs run in process. */
export function createProviderLimiter(limit: number): OwnedProviderLimiter {
  const byProvider = new Map<string, Semaphore>();
  return {
    forModel(model) {
      const provider = providerOf(model);
      let s = byProvider.get(provider);
      if (!s) byProvider.set(provider, (s = new Semaphore(Math.max(1, limit))));
      return s;
    },
    close: async () => undefined,
  };
}

/**
 * Across every process consuming the queue: the bound when jobs run on BullMQ. Slots live in Redis
 * (`quire:sem:<queue>:<provider>`, under `<redisNamespace>:` with QUIRE_REDIS_PREFIX); a Redis failure
 * while waiting fails the attempt retryably.
 */
export function createRedisProviderLimiter(options: { redisUrl: string; queueName: string; redisNamespace?: string; limit: number; logger: Logger }): OwnedProviderLimiter {
  const semaphores = createRedisSemaphores(
    { redisUrl: options.redisUrl, namespace: options.queueName, redisNamespace: options.redisNamespace, limit: Math.max(1, options.limit) },
    options.logger,
  );
  return {
    forModel: (model) => semaphores.forName(providerOf(model)),
    close: () => semaphores.close(),
  };
}
