import type { CircuitBreakerSettings } from './route-config.js';

const SAMPLES = 256;
/** Weight of the newest sample in the latency EWMA. */
const EWMA_ALPHA = 0.2;

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * What this gateway process has seen of one target (`provider/model`): a circuit breaker and its
 * recent latencies. In memory and per process, like every breaker: each gateway learns on its own.
 */
export class TargetHealth {
  private consecutiveFailures = 0;
  private openedAt: number | undefined;
  private probeInFlight = false;
  ewmaMs: number | undefined;
  private readonly latencies = new Float64Array(SAMPLES);
  private readonly times = new Float64Array(SAMPLES);
  private count = 0;
  private next = 0;
  private p95Cache: { at: number; windowMs: number; value: number | undefined; n: number } | undefined;

  /** The breaker's state now; an open circuit turns half-open once its cool-down has passed. */
  state(settings: CircuitBreakerSettings, now = performance.now()): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return now - this.openedAt >= settings.cooldownMs ? 'half-open' : 'open';
  }

  /**
   * Asks to send a call. Closed: yes. Open: no. Half-open: yes for exactly one probe at a time, whose
   * outcome closes or re-opens the circuit.
   */
  acquire(settings: CircuitBreakerSettings, now = performance.now()): boolean {
    const state = this.state(settings, now);
    if (state === 'closed') return true;
    if (state === 'open' || this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  /** A call that got an answer. `latencyMs` is time to first byte (streams) or to the whole answer. */
  success(latencyMs: number, settings: CircuitBreakerSettings, now = performance.now()): void {
    this.probeInFlight = false;
    this.sample(latencyMs, now);
    if (settings.slowCallMs !== undefined && latencyMs > settings.slowCallMs) {
      this.failure(settings, now);
      return;
    }
    this.consecutiveFailures = 0;
    this.openedAt = undefined;
  }

  /** A call that failed because of the target (timeouts, 5xx, 429, network, auth), not the request. */
  failure(settings: CircuitBreakerSettings, now = performance.now()): void {
    this.probeInFlight = false;
    this.consecutiveFailures++;
    const halfOpen = this.openedAt !== undefined;
    if (halfOpen || this.consecutiveFailures >= settings.failureThreshold) this.openedAt = now;
  }

  /** A call whose outcome says nothing about the target (the client went away, a bad request). */
  release(): void {
    this.probeInFlight = false;
  }

  private sample(latencyMs: number, now: number): void {
    this.ewmaMs = this.ewmaMs === undefined ? latencyMs : this.ewmaMs + EWMA_ALPHA * (latencyMs - this.ewmaMs);
    this.latencies[this.next] = latencyMs;
    this.times[this.next] = now;
    this.next = (this.next + 1) % SAMPLES;
    if (this.count < SAMPLES) this.count++;
    this.p95Cache = undefined;
  }

  /** p95 over samples newer than `windowMs`, with how many there were; cached for up to 1 s. */
  p95(windowMs: number, now = performance.now()): { value: number | undefined; n: number } {
    const cached = this.p95Cache;
    if (cached && cached.windowMs === windowMs && now - cached.at < 1_000) return cached;
    const recent: number[] = [];
    for (let i = 0; i < this.count; i++) if (now - this.times[i]! <= windowMs) recent.push(this.latencies[i]!);
    recent.sort((a, b) => a - b);
    const value = recent.length === 0 ? undefined : recent[Math.min(recent.length - 1, Math.ceil(recent.length * 0.95) - 1)];
    this.p95Cache = { at: now, windowMs, value, n: recent.length };
    return this.p95Cache;
  }
}

export class HealthBook {
  private readonly targets = new Map<string, TargetHealth>();

  of(model: string): TargetHealth {
    let health = this.targets.get(model);
    if (!health) {
      health = new TargetHealth();
      this.targets.set(model, health);
    }
    return health;
  }
}
