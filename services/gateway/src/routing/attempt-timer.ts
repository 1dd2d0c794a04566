import { DEFAULT_TRANSPORT, HTTP_HOOKS, ProviderError, type HttpHooks } from '@quire/models';
import type { Timeouts } from './route-config.js';

type Phase = 'connect' | 'first byte' | 'total';

/**
 * Kept for callers that pass it as the registry's fetch: it marks the default transport, so
 * `@quire/models` serves calls with its node:http client. The connect deadline no longer needs it:
 * the transport reports a request's start, its connection and its response headers through hooks
 * on the attempt's AbortSignal (`HTTP_HOOKS`).
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
  /** When each phase's deadline passes (performance.now() ms); Infinity once reached or not set. */
  private connectAt = Infinity;
  private firstByteAt = Infinity;
  private totalAt = Infinity;
  /** The connect deadline only applies once a request went out over HTTP (postJson says when). */
  private started = false;
  /**
   * The request reached a connection to the provider (or, through `fetch`, which cannot tell, its
   * answer's headers arrived): from here the provider may act on it, and bill it.
   */
  delivered = false;
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
    // The transport says when the request left (a ledger row needs to know whether it could be billed)
    // and when the connection was ready (the connect deadline).
    const connected = () => {
      this.delivered = true;
      this.done('connect');
    };
    const hooks: HttpHooks = { started: () => (this.started = true), connected, headers: connected };
    (this.signal as AbortSignal & { [HTTP_HOOKS]?: HttpHooks })[HTTP_HOOKS] = hooks;
    if (!timeouts) return;
    const now = performance.now();
    if (timeouts.connectMs) this.connectAt = now + timeouts.connectMs;
    if (timeouts.firstByteMs) this.firstByteAt = now + timeouts.firstByteMs;
    if (timeouts.totalMs) this.totalAt = now + timeouts.totalMs;
    this.arm();
  }

  /** Runs the provider call under this attempt's deadlines (they reach the transport through `signal`). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  private arm(): void {
    const next = Math.min(this.connectAt, this.firstByteAt, this.totalAt);
    if (next === Infinity) return;
    this.timer = setTimeout(() => this.check(), Math.max(0, next - performance.now()));
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    if (this.controller.signal.aborted) return;
    const due = performance.now() + 1;
    if (this.connectAt <= due) {
      this.connectAt = Infinity;
      if (this.started) return this.fire('connect');
    }
    if (this.firstByteAt <= due) return this.fire('first byte');
    if (this.totalAt <= due) return this.fire('total');
    this.arm();
  }

  private fire(phase: Phase): void {
    this.fired = phase;
    const ms = this.msOf(phase);
    this.controller.abort(new DOMException(`${phase} deadline of ${ms}ms passed`, 'TimeoutError'));
  }

  private msOf(phase: Phase): number | undefined {
    return this.timeouts?.[phase === 'connect' ? 'connectMs' : phase === 'first byte' ? 'firstByteMs' : 'totalMs'];
  }

  /** A phase was reached in time: its deadline no longer applies. */
  done(phase: Phase): void {
    if (phase === 'connect') this.connectAt = Infinity;
    else if (phase === 'first byte') this.firstByteAt = Infinity;
    else this.totalAt = Infinity;
    if (this.timer && this.connectAt === Infinity && this.firstByteAt === Infinity && this.totalAt === Infinity) {
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
    return new ProviderError({
      code: 'provider_timeout',
      provider,
      message: `Provider "${provider}" missed the ${this.fired} deadline (${this.msOf(this.fired)}ms).`,
      retryable: true,
      cause: error,
    });
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.connectAt = this.firstByteAt = this.totalAt = Infinity;
    if (this.onClientAbort) this.clientSignal?.removeEventListener('abort', this.onClientAbort);
  }
}
