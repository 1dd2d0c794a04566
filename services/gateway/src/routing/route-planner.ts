import type { Identity } from '@quire/contracts';
import type { BudgetProbe } from './budget-probe.js';
import { routeModels, type CircuitBreakerSettings, type RouteRetryPolicy, type Route, type RouteTarget, type Timeouts } from './route-config.js';
import type { RouteStore } from './route-store.js';
import type { HealthBook } from './target-health.js';

export type Capability = 'chat' | 'embedding' | 'rerank';

/** One target in the order a request will try them, with why it sits there. */
export interface PlanStep {
  model: string;
  timeouts: Timeouts | undefined;
  reason: string;
}

export interface Plan {
  /** The route's name, or null for a direct `provider/model` call. */
  route: string | null;
  steps: PlanStep[];
  retry: RouteRetryPolicy;
  breaker: CircuitBreakerSettings;
  /** Route-level decisions (budget downgrade, latency switch), repeated in every attempt's reason. */
  note: string | undefined;
}

/** A relative price to rank targets by (not money: only the order matters); undefined when unpriced. */
export type PriceIndex = (model: string, capability: Capability) => number | undefined;

const DIRECT_BREAKER: CircuitBreakerSettings = { failureThreshold: 5, cooldownMs: 30_000 };

function weightedOrder(targets: RouteTarget[], random: () => number): PlanStep[] {
  const pool = [...targets];
  const out: PlanStep[] = [];
  const total = pool.reduce((n, t) => n + t.weight, 0);
  while (pool.length > 0) {
    const sum = pool.reduce((n, t) => n + t.weight, 0);
    let pick = random() * sum;
    let index = 0;
    while (index < pool.length - 1 && pick >= pool[index]!.weight) pick -= pool[index++]!.weight;
    const [target] = pool.splice(index, 1);
    const reason = out.length === 0 ? `weighted pick (weight ${target!.weight}/${total})` : 'weighted fallback';
    out.push({ model: target!.model, timeouts: target!.timeouts, reason });
  }
  return out;
}

/**
 * Orders a route's targets for one request: the strategy, then budget and latency decisions. It is
 * where routes meet the health book, so it also keeps the book to the routes that exist: when a store
 * that reports changes (`onChange`) loads a new route set, breakers and latencies of deleted routes
 * and removed targets are dropped.
 */
export class RoutePlanner {
  constructor(
    private readonly routes: (Pick<RouteStore, 'get'> & Partial<Pick<RouteStore, 'onChange'>>) | undefined,
    private readonly health: HealthBook,
    private readonly budget: BudgetProbe,
    private readonly priceIndex: PriceIndex,
    private readonly directRetry: RouteRetryPolicy,
    private readonly random: () => number = Math.random,
  ) {
    routes?.onChange?.((set) => health.retain(new Map([...set].map(([name, route]) => [name, routeModels(route)]))));
  }

  /** Undefined when `name` is neither a route nor a `provider/model` name. */
  async plan(name: string, capability: Capability, identity: Identity): Promise<Plan | undefined> {
    if (name.includes('/')) {
      return { route: null, steps: [{ model: name, timeouts: undefined, reason: 'direct' }], retry: this.directRetry, breaker: DIRECT_BREAKER, note: undefined };
    }
    const route = await this.routes?.get(name);
    if (!route) return undefined;
    const notes: string[] = [];
    let targets = route.targets;
    if (route.downgrade) {
      const used = await this.budget.usedFraction(identity);
      if (used !== null && used > route.downgrade.whenBudgetUsedAbove) {
        targets = route.downgrade.targets;
        notes.push(`budget downgrade (used ${used.toFixed(2)} > ${route.downgrade.whenBudgetUsedAbove})`);
      }
    }
    let steps = this.order(route, targets, capability);
    for (const step of steps) step.timeouts ??= route.timeouts;
    if (route.latencySwitch) {
      const { p95AboveMs, windowMs, minSamples } = route.latencySwitch;
      const slowP95 = new Map<PlanStep, number>();
      for (const step of steps) {
        const p95 = this.health.latency(step.model).p95(windowMs);
        if (p95.value !== undefined && p95.n >= minSamples && p95.value > p95AboveMs) slowP95.set(step, p95.value);
      }
      // Slow targets go behind the fast ones. Only those with a fast target after them actually move:
      // slow targets already at the back (every target slow included) keep the strategy's order, and
      // the ledger notes a latency switch only where one changed the order.
      const lastFast = steps.findLastIndex((s) => !slowP95.has(s));
      const demoted = new Set(steps.filter((s, i) => slowP95.has(s) && i < lastFast));
      if (demoted.size > 0) {
        for (const s of demoted) notes.push(`latency switch: ${s.model} p95 ${Math.round(slowP95.get(s)!)}ms > ${p95AboveMs}ms`);
        const slow = steps.filter((s) => slowP95.has(s)).map((s) => (demoted.has(s) ? { ...s, reason: `${s.reason}, demoted: p95 over ${p95AboveMs}ms` } : s));
        steps = [...steps.filter((s) => !slowP95.has(s)), ...slow];
      }
    }
    return { route: name, steps, retry: route.retry, breaker: route.circuitBreaker, note: notes.length ? notes.join('; ') : undefined };
  }

  private order(route: Route, targets: RouteTarget[], capability: Capability): PlanStep[] {
    const step = (t: RouteTarget, reason: string): PlanStep => ({ model: t.model, timeouts: t.timeouts, reason });
    switch (route.strategy) {
      case 'priority':
        return targets.map((t, i) => step(t, `priority #${i + 1}`));
      case 'weighted':
        return weightedOrder(targets, this.random);
      case 'lowest-latency': {
        if (this.random() < route.exploreFraction) return weightedOrder(targets, this.random).map((s) => ({ ...s, reason: 'lowest-latency exploration' }));
        const known = targets.map((t, i) => ({ t, i, ewma: this.health.latency(t.model).ewmaMs }));
        // Unmeasured targets go first, so every target gets a latency estimate.
        known.sort((a, b) => (a.ewma ?? -1) - (b.ewma ?? -1) || a.i - b.i);
        return known.map(({ t, ewma }) => step(t, ewma === undefined ? 'lowest-latency (not measured yet)' : `lowest-latency (ewma ${ewma.toFixed(1)}ms)`));
      }
      case 'lowest-price': {
        const priced = targets.map((t, i) => ({ t, i, price: this.priceIndex(t.model, capability) }));
        // Unpriced targets go last: their cost is unknown, not zero.
        priced.sort((a, b) => (a.price ?? Infinity) - (b.price ?? Infinity) || a.i - b.i);
        return priced.map(({ t, price }) => step(t, price === undefined ? 'lowest-price (unpriced, last)' : `lowest-price (index ${price})`));
      }
    }
  }
}
