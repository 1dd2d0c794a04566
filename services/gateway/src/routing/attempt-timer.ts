import { AsyncLocalStorage } from 'node:async_hooks';
import { ProviderError } from '@quire/models';
import type { Timeouts } from './route-config.js';

type Phase = 'connect' | 'first byte' | 'total';

interface FetchScope {
  /** Set by `scopedFetch` when it is the fetch in use, so a connect deadline can be enforced. */
  hooked: boolean;
  connected(): void;
}

const scope = new AsyncLocalStorage<FetchScope>();

/**
 * A fetch that tells the current attempt when the provider's response headers arrived (the
 * "connect" deadline). The registry built by `catalogFromEnv` uses it; with any other fetch the
 * connect deadline applies to streams only (their headers arrive when `doStream` resolves).
 */
export const scopedFetch: typeof fetch = async (input, init) => {
  const current = scope.getStore();
  if (current) current.hooked = true;
  const response = await fetch(input, init);
  current?.connected();
  return response;
};

/**
 * One attempt's deadlines, as an AbortSignal that also follows the client's own signal. A deadline
 * that fires aborts the provider call, and the error becomes a retryable `provider_timeout`, which
 * sends the request to the next target.
 */
export class AttemptTimer {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private timers: Partial<Record<Phase, NodeJS.Timeout>> = {};
  private fired: Phase | undefined;
  private readonly fetchScope: FetchScope | undefined;
  private readonly onClientAbort: (() => void) | undefined;

  constructor(
    private readonly timeouts: Timeouts | undefined,
    private readonly clientSignal: AbortSignal | undefined,
  ) {
    this.signal = this.controller.signal;
    if (clientSignal) {
      if (clientSignal.aborted) this.controller.abort(clientSignal.reason);
      else {
        this.onClientAbort = () => this.controller.abort(clientSignal.reason);
        clientSignal.addEventListener('abort', this.onClientAbort, { once: true });
      }
    }
    if (!timeouts) return;
    if (timeouts.connectMs) {
      const fetchScope: FetchScope = { hooked: false, connected: () => this.done('connect') };
      this.fetchScope = fetchScope;
      this.arm('connect', timeouts.connectMs, () => fetchScope.hooked);
    }
    if (timeouts.firstByteMs) this.arm('first byte', timeouts.firstByteMs);
    if (timeouts.totalMs) this.arm('total', timeouts.totalMs);
  }

  /** Runs the provider call inside this attempt's fetch scope (for the connect deadline). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.fetchScope ? scope.run(this.fetchScope, fn) : fn();
  }

  private arm(phase: Phase, ms: number, applies: () => boolean = () => true): void {
    const timer = setTimeout(() => {
      if (!applies() || this.controller.signal.aborted) return;
      this.fired = phase;
      this.controller.abort(new DOMException(`${phase} deadline of ${ms}ms passed`, 'TimeoutError'));
    }, ms);
    timer.unref();
    this.timers[phase] = timer;
  }

  /** A phase was reached in time: its deadline no longer applies. */
  done(phase: Phase): void {
    const timer = this.timers[phase];
    if (timer) clearTimeout(timer);
    delete this.timers[phase];
  }

  get clientAborted(): boolean {
    return this.clientSignal?.aborted === true && this.fired === undefined;
  }

  /** The error to act on: a deadline that fired becomes a retryable provider timeout. */
  normalise(error: unknown, provider: string): unknown {
    if (this.fired === undefined || this.clientSignal?.aborted) return error;
    const ms = this.timeouts?.[this.fired === 'connect' ? 'connectMs' : this.fired === 'first byte' ? 'firstByteMs' : 'totalMs'];
    return new ProviderError({
      code: 'provider_timeout',
      provider,
      message: `Provider "${provider}" missed the ${this.fired} deadline (${ms}ms).`,
      retryable: true,
      cause: error,
    });
  }

  clear(): void {
    for (const timer of Object.values(this.timers)) clearTimeout(timer);
    this.timers = {};
    if (this.onClientAbort) this.clientSignal?.removeEventListener('abort', this.onClientAbort);
  }
}
