import { createRedisSemaphores, type CountingSemaphore } from '@quire/jobs';
import type { Logger } from '@quire/server-kit';

/** A counting semaphore; FIFO so a long job cannot starve the others. */
export class Semaphore implements CountingSemaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  get inFlight(): number {
    return this.active;
  }
}

/** Bounds concurrent embedding calls per provider (the part of `provider/model` before the slash). */
export interface ProviderLimiter {
  forModel(model: string): CountingSemaphore;
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
 * (`quire:sem:<queue>:<provider>`); a Redis failure while waiting fails the attempt retryably.
 */
export function createRedisProviderLimiter(options: { redisUrl: string; queueName: string; limit: number; logger: Logger }): OwnedProviderLimiter {
  const semaphores = createRedisSemaphores({ redisUrl: options.redisUrl, namespace: options.queueName, limit: Math.max(1, options.limit) }, options.logger);
  return {
    forModel: (model) => semaphores.forName(providerOf(model)),
    close: () => semaphores.close(),
  };
}
