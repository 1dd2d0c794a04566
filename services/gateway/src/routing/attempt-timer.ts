import { DEFAULT_TRANSPORT, HTTP_HOOKS, ProviderError, type HttpHooks } from '@quire/models';
import type { Timeouts } from './route-config.js';

type Phase = 'connect' | 'first byte' | 'total';

/**
 * Kept for callers that pass it as the registry's fetch: it marks the default transport, so
 * `@quire/models` serves calls with its node:http client. The connect deadline no longer needs it:
 * `postJson` reports a request's start and its response headers through hooks on the attempt's
 * AbortSignal (`HTTP_HOOKS`), whatever transport is in use.
 */
export const scopedFetch: typeof fetch = Object.assign((input: Parameters<typeof fetch>[0], init?: RequestInit) => fetch(input, init), {
  [DEFAULT_TRANSPORT]: true,
});

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
      // The connect deadline applies to calls that go out over HTTP (postJson says when), not to local models.
      let started = false;
      const hooks: HttpHooks = { started: () => (started = true), headers: () => this.done('connect') };
      (this.signal as AbortSignal & { [HTTP_HOOKS]?: HttpHooks })[HTTP_HOOKS] = hooks;
      this.arm('connect', timeouts.connectMs, () => started);
    }
    if (timeouts.firstByteMs) this.arm('first byte', timeouts.firstByteMs);
    if (timeouts.totalMs) this.arm('total', timeouts.totalMs);
  }

  /** Runs the provider call under this attempt's deadlines (they reach the transport through `signal`). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
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
