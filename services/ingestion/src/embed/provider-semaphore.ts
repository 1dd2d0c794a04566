/** A counting semaphore; FIFO so a long job cannot starve the others. */
export class Semaphore {
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

/** One semaphore per provider (the part of `provider/model` before the slash). */
export function createProviderLimiter(limit: number) {
  const byProvider = new Map<string, Semaphore>();
  return {
    forModel(model: string): Semaphore {
      const provider = model.split('/')[0] ?? model;
      let s = byProvider.get(provider);
      if (!s) byProvider.set(provider, (s = new Semaphore(Math.max(1, limit))));
      return s;
    },
  };
}
export type ProviderLimiter = ReturnType<typeof createProviderLimiter>;
