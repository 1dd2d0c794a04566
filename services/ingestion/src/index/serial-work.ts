/**
 * The background loop both index maintainers run (vector graphs, keyword postings): ids of work
 * queued in arrival order, one run at a time, an id queued again while it waits runs once. What a
 * run does, and what a failure means, is the maintainer's; everything they do is recorded in the
 * database, so a stopped loop loses nothing a restart would not find again.
 */
export interface SerialWorkHandlers {
  run(id: string): Promise<void>;
  /** A run threw (also while stopping: the handler decides what to log then). */
  failed(id: string, error: unknown): void | Promise<void>;
  /** After the queue empties, unless stopped. */
  drained?(): Promise<void>;
}

/** Runs a handler, thrown or rejected errors dropped (the handlers log what matters themselves). */
async function settle(handler: () => void | Promise<void>): Promise<void> {
  try {
    await handler();
  } catch {
    // Nothing to do: see above.
  }
}

export function createSerialWork(handlers: SerialWorkHandlers) {
  const queue = new Set<string>();
  let running: Promise<void> | null = null;
  let stopped = false;
  /** A stop still waiting for its run: taking work again before it ends would let that run go on. */
  let stopping: Promise<void> | null = null;
  let idleWaiters: (() => void)[] = [];

  const wakeIdle = () => {
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  function kick(): void {
    if (running || stopped) return;
    running = drain().finally(() => {
      running = null;
      if (queue.size > 0 && !stopped) kick();
      else wakeIdle();
    });
  }

  async function drain(): Promise<void> {
    while (!stopped && queue.size > 0) {
      const id = queue.values().next().value as string;
      queue.delete(id);
      try {
        await handlers.run(id);
      } catch (error) {
        // A handler that throws here would reject a promise only `stop` awaits: it must not end the loop.
        await settle(() => handlers.failed(id, error));
      }
    }
    if (!stopped && handlers.drained) await settle(handlers.drained);
  }

  return {
    /** Queues `id` (once, however often it is added before its turn) unless stopped. */
    add(id: string): void {
      if (stopped) return;
      queue.add(id);
      kick();
    },
    /** Ids waiting their turn: a long run gives way when another waits. */
    get waiting(): number {
      return queue.size;
    },
    get stopped(): boolean {
      return stopped;
    },
    /** Takes work again after `stop`, once the run it waited for has ended. */
    async resume(): Promise<void> {
      await stopping;
      stopped = false;
    },
    /** Resolves once the queue is empty and nothing runs. */
    idle(): Promise<void> {
      if (!running && queue.size === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    /** Stops taking and starting work at once (synchronously), then waits for the run in progress. */
    stop(): Promise<void> {
      stopped = true;
      queue.clear();
      stopping ??= (async () => {
        await running;
        wakeIdle();
        stopping = null;
      })();
      return stopping;
    },
  };
}
export type SerialWork = ReturnType<typeof createSerialWork>;
