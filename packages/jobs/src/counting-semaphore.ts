/** What every concurrency limiter offers its callers, in process or across processes. */
export interface CountingSemaphore {
  /** Runs `fn` once a slot is free, holding the slot until it settles. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Slots this process holds now (with a distributed semaphore, other processes hold more). */
  readonly inFlight: number;
}

/** A semaphore whose wait a caller can abandon; the signal never interrupts `fn` itself. */
export interface AbortableSemaphore extends CountingSemaphore {
  run<T>(fn: () => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
}
