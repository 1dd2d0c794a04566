import type { CircuitBreakerSettings } from './route-config.js';

const SAMPLES = 256;
/** Weight of the newest sample in the latency EWMA. */
const EWMA_ALPHA = 0.2;

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * What this gateway process has measured of one target's (`provider/model`) latency. Shared by every
 * route that uses the target: a latency is an observation of the target itself, whatever a route
 * tolerates, and more samples make the lowest-latency order and the p95 switch settle sooner.
 */
export class TargetLatency {
  ewmaMs: number | undefined;
  private readonly latencies = new Float64Array(SAMPLES);
  private readonly times = new Float64Array(SAMPLES);
  private count = 0;
  private next = 0;
  private p95Cache: { at: number; windowMs: number; value: number | undefined; n: number } | undefined;

  /** `latencyMs` is time to first byte (streams) or to the whole answer. */
  sample(latencyMs: number, now = performance.now()): void {
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

/**
 * A breaker's answer to "may I call?": its identity is what lets the half-open probe, and only it,
 * report the outcome that ends the probe (see CircuitBreaker.acquire).
 */
export interface Permit {
  readonly probe: boolean;
}

/**
 * One route's circuit breaker for one target. Per route because the settings are: a route with a
 * strict `slowCallMs` or a low threshold must not open the circuit for a lax route that shares the
 * target. In memory and per process, like every breaker: each gateway learns on its own.
 */
export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt: number | undefined;
  private probe: { permit: Permit; since: number } | undefined;

  /** The breaker's state now; an open circuit turns half-open once its cool-down has passed. */
  state(settings: CircuitBreakerSettings, now = performance.now()): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return now - this.openedAt >= settings.cooldownMs ? 'half-open' : 'open';
  }

  /**
   * Asks to send a call. Closed: yes. Open: no. Half-open: yes for exactly one probe at a time, whose
   * outcome closes or re-opens the circuit. A probe that never reports (a leak would otherwise keep
   * the target shut for good) is given up after a cool-down of its own.
   */
  acquire(settings: CircuitBreakerSettings, now = performance.now()): Permit | undefined {
    const state = this.state(settings, now);
    if (state === 'closed') return { probe: false };
    if (state === 'open') return undefined;
    if (this.probe && now - this.probe.since < settings.cooldownMs) return undefined;
    const permit = { probe: true };
    this.probe = { permit, since: now };
    return permit;
  }

  /** How long until a call may be tried again (at least 1 s while a probe is out: its outcome decides). */
  retryInMs(settings: CircuitBreakerSettings, now = performance.now()): number {
    if (this.openedAt === undefined) return 0;
    return Math.max(1_000, settings.cooldownMs - (now - this.openedAt));
  }

  /** A call that got an answer: one slower than `slowCallMs` counts as a failure. */
  success(permit: Permit, latencyMs: number, settings: CircuitBreakerSettings, now = performance.now()): void {
    if (settings.slowCallMs !== undefined && latencyMs > settings.slowCallMs) {
      this.failure(permit, settings, now);
      return;
    }
    if (this.stale(permit)) return;
    this.endProbe(permit);
    this.consecutiveFailures = 0;
    this.openedAt = undefined;
  }

  /** A call that failed because of the target (timeouts, 5xx, 429, network, auth), not the request. */
  failure(permit: Permit, settings: CircuitBreakerSettings, now = performance.now()): void {
    if (this.stale(permit)) return;
    this.endProbe(permit);
    this.consecutiveFailures++;
    const halfOpen = this.openedAt !== undefined;
    if (halfOpen || this.consecutiveFailures >= settings.failureThreshold) this.openedAt = now;
  }

  /**
   * Once the circuit is open, only the current probe speaks for the target: a call let through
   * while it was closed and answering late must neither close it (traffic would flood back to a
   * failing target) nor restart its cool-down.
   */
  private stale(permit: Permit): boolean {
    return this.openedAt !== undefined && this.probe?.permit !== permit;
  }

  /** Closes the circuit at once, forgetting failures and any probe: for a target known to be fixed. */
  reset(): void {
    this.consecutiveFailures = 0;
    this.openedAt = undefined;
    this.probe = undefined;
  }

  /** A call whose outcome says nothing about the target (the client went away, a bad request). */
  release(permit: Permit): void {
    this.endProbe(permit);
  }

  /** Only the probe's own outcome ends it: a call let through while the circuit was closed does not. */
  private endProbe(permit: Permit): void {
    if (this.probe?.permit === permit) this.probe = undefined;
  }
}

/**
 * One attempt's hold on a target: the route's breaker, the permit it was given, and the target's
 * latency record. The attempt reports through it, so the permit never leaves the attempt loop.
 */
export class TargetPass {
  constructor(
    private readonly breaker: CircuitBreaker,
    readonly permit: Permit,
    private readonly latency: TargetLatency,
    private readonly settings: CircuitBreakerSettings,
  ) {}

  success(latencyMs: number, now = performance.now()): void {
    this.latency.sample(latencyMs, now);
    this.breaker.success(this.permit, latencyMs, this.settings, now);
  }

  failure(now = performance.now()): void {
    this.breaker.failure(this.permit, this.settings, now);
  }

  release(): void {
    this.breaker.release(this.permit);
  }
}

/** Every target's latency, and every (route, target) pair's breaker, seen by this process. */
export class HealthBook {
  private readonly latencies = new Map<string, TargetLatency>();
  /** Route name, then target: nested so that pruning a route drops its breakers in one step. */
  private readonly breakers = new Map<string, Map<string, CircuitBreaker>>();

  latency(model: string): TargetLatency {
    let latency = this.latencies.get(model);
    if (!latency) {
      latency = new TargetLatency();
      this.latencies.set(model, latency);
    }
    return latency;
  }

  breaker(route: string, model: string): CircuitBreaker {
    let byTarget = this.breakers.get(route);
    if (!byTarget) {
      byTarget = new Map();
      this.breakers.set(route, byTarget);
    }
    let breaker = byTarget.get(model);
    if (!breaker) {
      breaker = new CircuitBreaker();
      byTarget.set(model, breaker);
    }
    return breaker;
  }

  /**
   * Forgets the breakers of routes and targets not in `live` (route name -> its target models), and
   * the latency of targets no live route uses. Without this a deleted route's breakers would stay for
   * the life of the process, and a route created again under the same name (or a target put back)
   * would start with the old, possibly open, circuit. Latency is only ever recorded and read for route
   * targets, so a target no route names has no reader left. An attempt still holding a pruned breaker
   * reports to it harmlessly: nothing looks it up again.
   */
  retain(live: ReadonlyMap<string, ReadonlySet<string>>): void {
    for (const [route, byTarget] of this.breakers) {
      const models = live.get(route);
      if (!models) {
        this.breakers.delete(route);
        continue;
      }
      for (const model of byTarget.keys()) if (!models.has(model)) byTarget.delete(model);
    }
    const used = new Set<string>();
    for (const models of live.values()) for (const model of models) used.add(model);
    for (const model of this.latencies.keys()) if (!used.has(model)) this.latencies.delete(model);
  }
}
