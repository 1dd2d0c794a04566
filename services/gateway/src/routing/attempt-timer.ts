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
 * sends the request to the next target. One timer serves all three phases: it is armed for the
 * nearest pending deadline and, when it fires after that phase was reached, re-armed for the next.
 */
export class AttemptTimer {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  /** Pending phases and when each one's deadline passes (performance.now() ms). */
  private readonly pending = new Map<Phase, { at: number; ms: number; applies: () => boolean }>();
  private timer: NodeJS.Timeout | undefined;
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
    const now = performance.now();
    if (timeouts.connectMs) {
      // The connect deadline applies to calls that go out over HTTP (postJson says when), not to local models.
      let started = false;
      const hooks: HttpHooks = { started: () => (started = true), headers: () => this.done('connect') };
      (this.signal as AbortSignal & { [HTTP_HOOKS]?: HttpHooks })[HTTP_HOOKS] = hooks;
      this.pending.set('connect', { at: now + timeouts.connectMs, ms: timeouts.connectMs, applies: () => started });
    }
    if (timeouts.firstByteMs) this.pending.set('first byte', { at: now + timeouts.firstByteMs, ms: timeouts.firstByteMs, applies: ALWAYS });
    if (timeouts.totalMs) this.pending.set('total', { at: now + timeouts.totalMs, ms: timeouts.totalMs, applies: ALWAYS });
    this.arm();
  }

  /** Runs the provider call under this attempt's deadlines (they reach the transport through `signal`). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  private arm(): void {
    let next = Infinity;
    for (const p of this.pending.values()) next = Math.min(next, p.at);
    if (next === Infinity) return;
    this.timer = setTimeout(() => this.check(), Math.max(0, next - performance.now()));
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    if (this.controller.signal.aborted) return;
    const now = performance.now();
    for (const [phase, p] of this.pending) {
      if (p.at > now + 1) continue;
      this.pending.delete(phase);
      if (!p.applies()) continue;
      this.fired = phase;
      this.controller.abort(new DOMException(`${phase} deadline of ${p.ms}ms passed`, 'TimeoutError'));
      return;
    }
    this.arm();
  }

  /** A phase was reached in time: its deadline no longer applies. */
  done(phase: Phase): void {
    this.pending.delete(phase);
    if (this.pending.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
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
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    if (this.onClientAbort) this.clientSignal?.removeEventListener('abort', this.onClientAbort);
  }
}

const ALWAYS = () => true;
