import type { Identity } from '@quire/contracts';
import { AppError, type Logger } from '@quire/server-kit';
import type { BudgetProbe } from '../routing/budget-probe.js';
import type { Counters } from './counters.js';
import type { BudgetRow, GovernanceStore } from './store.js';
import { BudgetAlerts, type AlertSubject } from './budget-alerts.js';

/**
 * Exact decimal USD to integer nano-dollars, rounded up (a reservation never undercounts). Budgets
 * count nano-dollars, not micro-dollars: each ledger row is rounded on its own, and a cheap embedding
 * call ($0.00000008) rounded up to a micro-dollar counted 12.5 times its cost. A list price of at
 * most three decimals per million tokens is a whole number of nano-dollars per token, so real calls
 * are counted exactly. Integers stay exact in a double up to 2^53 nano-dollars, about $9M per counter.
 */
export function toNanos(decimal: string | null): number {
  if (!decimal) return 0;
  const [whole = '0', frac = ''] = decimal.replace(/^-/, '').split('.');
  const nanos = Number(whole) * 1e9 + Number(frac.slice(0, 9).padEnd(9, '0'));
  return /[1-9]/.test(frac.slice(9)) ? nanos + 1 : nanos;
}

/**
 * Integer nano-dollars as exact decimal USD, without trailing zeros ("0.000006", "12.5", "0"): what
 * the budget API, the CLI and alerts show. Exact to the nano-dollar: nothing is rounded off, only
 * the zeros that the nine fraction digits of the counters' unit would pad it with.
 */
export function fromNanos(nanos: number): string {
  const n = BigInt(Math.round(nanos));
  const digits = (n < 0n ? -n : n).toString().padStart(10, '0');
  const frac = digits.slice(-9).replace(/0+$/, '');
  return `${n < 0n ? '-' : ''}${digits.slice(0, -9)}${frac ? `.${frac}` : ''}`;
}

export function periodStart(period: 'day' | 'month', now: number): Date {
  const d = new Date(now);
  return period === 'day' ? new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())) : new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}
const PERIOD_TTL_MS = { day: 2 * 86_400_000, month: 33 * 86_400_000 };

interface Slot extends AlertSubject {
  /** The counter: spent plus reserved nano-dollars this period. */
  key: string;
  limit: number;
}

export interface Reservation {
  identity: Identity;
  slots: Slot[];
  reserved: number;
  /** Real cost seen so far (ledger rows of this request), nano-dollars. */
  actual: number;
  tokens: number;
  settled: boolean;
}

function slotOf(budget: BudgetRow, now: number): Slot {
  const start = periodStart(budget.period, now);
  // `budn:` counters hold nano-dollars; the micro-dollar `bud:` counters of earlier versions are not
  // read (their numbers would count a thousandth) and expire on their own.
  return { budget, start, key: `budn:${budget.id}:${start.getTime()}`, limit: toNanos(budget.limit_usd), ttlMs: PERIOD_TTL_MS[budget.period] };
}

const PERIOD_WORD = { day: 'daily', month: 'monthly' } as const;
const usd = (decimal: string) => `$${decimal.includes('.') ? decimal.replace(/\.?0+$/, '') : decimal}`;
const budgetName = (b: BudgetRow) => `the ${PERIOD_WORD[b.period]} budget of ${b.scope} "${b.scope_id}" (${usd(b.limit_usd)})`;

function exceeded(s: Slot, used: number): AppError {
  const name = budgetName(s.budget);
  return new AppError('budget_exceeded', `${name[0]!.toUpperCase()}${name.slice(1)} does not cover this request.`, {
    details: { budget_id: s.budget.id, scope: s.budget.scope, scope_id: s.budget.scope_id, period: s.budget.period, limit_usd: s.budget.limit_usd, used_usd: fromNanos(used) },
  });
}

/** A call's model, and the models it may reach (itself, or a route's targets) that have no price. */
export interface UnpricedModels {
  model: string;
  unpriced: readonly string[];
  /**
   * Of `unpriced`, the rerank targets billed in search units: token prices cannot price them, so their
   * price needs a `searchUnit` (USD per search unit).
   */
  needsSearchUnit?: readonly string[];
  /** Of `needsSearchUnit`, those that have input/output prices and lack only the `searchUnit`. */
  onlySearchUnitMissing?: readonly string[];
}

/**
 * A budget cannot count what has no price: such a call would be metered with cost null and spend
 * past the limit unseen (real billed models are left out of the price catalog when their price is
 * not confirmed). Names the way out for an admin: a price with the field that is missing (a reranker
 * billed in search units needs `searchUnit`, `input`/`output` alone do not price it), or the setting
 * for free models.
 */
function unpricedRefusal(s: Slot, m: UnpricedModels): AppError {
  const first = m.unpriced[0]!;
  const searchUnit = m.needsSearchUnit ?? [];
  const onlySearchUnit = m.onlySearchUnitMissing ?? [];
  const single = m.unpriced.length === 1 && first === m.model;
  const what = !single
    ? `"${m.model}" can call models without a price (${m.unpriced.map((u) => `"${u}"${searchUnit.includes(u) ? ' (needs a searchUnit price)' : ''}`).join(', ')})`
    : onlySearchUnit.includes(first)
      ? `Model "${first}" has no searchUnit price (its reranks are billed in search units, which input and output prices do not cover)`
      : searchUnit.includes(first)
        ? `Model "${first}" has no price (its reranks are billed in search units, so its price needs a searchUnit beside input and output)`
        : `Model "${first}" has no price`;
  const example = searchUnit.includes(first)
    ? `{"${first}": {"input": "0", "output": "0", "searchUnit": "0.002"}}: searchUnit in USD per search unit, input and output in USD per million tokens`
    : `{"${first}": {"input": "0.15", "output": "0.60"}}, USD per million tokens`;
  return new AppError(
    'model_unpriced',
    `${what}, so its cost cannot be counted against ${budgetName(s.budget)} and the call is refused. ` +
      `An admin can price it in QUIRE_PRICING_JSON (e.g. ${example}), ` +
      'or set QUIRE_BUDGETS_ALLOW_UNPRICED=true where unpriced models cost nothing (self-hosted servers).',
    {
      param: 'model',
      details: {
        model: m.model,
        unpriced_models: [...m.unpriced],
        ...(searchUnit.length > 0 ? { missing_search_unit_price: [...searchUnit] } : {}),
        budget_id: s.budget.id,
        scope: s.budget.scope,
        scope_id: s.budget.scope_id,
      },
    },
  );
}

/** Tries of a reservation whose counter goes missing again right after it was seeded. */
const SEED_TRIES = 3;

/**
 * Budgets per team and per key, per UTC day or month. The counter of a budget holds spent plus
 * reserved nano-dollars for its period; it is seeded from the ledger (the source of truth) whenever
 * it does not exist, and otherwise moved only by reservations and settlements, atomically (one
 * event-loop turn in memory, one Lua script in Redis), so concurrent requests can never take more
 * than the limit between them. Counters are never created by a move: a counter that Redis lost
 * (restart, eviction, flush) would otherwise restart from zero and forget the period's spend.
 */
export class Budgets implements BudgetProbe {
  private readonly cache = new Map<string, { rows: BudgetRow[]; at: number }>();
  /** Seeds in flight, one per counter; removed when done, so nothing here outlives a seed. */
  private readonly seeding = new Map<string, Promise<void>>();
  private readonly alerts: BudgetAlerts;
  /** Bumped by `invalidate`: rows read across a change are not cached (see Authenticator). */
  private generation = 0;

  constructor(
    private readonly store: GovernanceStore,
    private readonly counters: Counters,
    logger: Logger,
    private readonly ttlMs = 5000,
    private readonly now: () => number = Date.now,
  ) {
    this.alerts = new BudgetAlerts(store, counters, logger, now);
  }

  invalidate(): void {
    this.generation++;
    this.cache.clear();
  }

  private async rows(identity: Identity): Promise<BudgetRow[]> {
    const id = `${identity.team_id}\u0000${identity.key_id}`;
    const hit = this.cache.get(id);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.rows;
    const generation = this.generation;
    const rows = await this.store.budgetsFor(identity.team_id, identity.key_id);
    if (generation !== this.generation) return rows;
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(id, { rows, at: this.now() });
    return rows;
  }

  private async slots(identity: Identity): Promise<Slot[]> {
    const rows = await this.rows(identity);
    if (rows.length === 0) return [];
    const now = this.now();
    return rows.map((budget) => slotOf(budget, now));
  }

  /**
   * Sets the counter to the period's spend in the ledger if it does not exist (SET NX, so a counter
   * another replica seeded or moved meanwhile is kept). Concurrent seeds of one counter share a query.
   */
  private seed(slot: Slot): Promise<void> {
    let p = this.seeding.get(slot.key);
    if (!p) {
      p = this.store
        .spend(slot.budget.scope, slot.budget.scope_id, slot.start)
        .then((spent) => this.counters.seed(slot.key, toNanos(spent), slot.ttlMs))
        .finally(() => this.seeding.delete(slot.key));
      this.seeding.set(slot.key, p);
    }
    return p;
  }

  /** The counters' values, seeding those that do not exist. */
  private async values(slots: Slot[]): Promise<number[]> {
    const found = await this.counters.get(slots.map((s) => s.key));
    const missing = slots.filter((_s, i) => found[i] === null);
    if (missing.length === 0) return found.map((v) => v ?? 0);
    await Promise.all(missing.map((s) => this.seed(s)));
    return (await this.counters.get(slots.map((s) => s.key))).map((v) => v ?? 0);
  }

  /**
   * Takes the worst-case cost (nano-dollars) out of every budget that applies, or refuses with 402;
   * null when none applies. Under a budget, a call that may reach a model without a price is refused
   * (403 `model_unpriced`) unless `unpriced` lists none (the caller leaves it empty when unpriced
   * models are allowed).
   */
  async reserve(identity: Identity, nanos: number, unpriced?: UnpricedModels): Promise<Reservation | null> {
    const slots = await this.slots(identity);
    if (slots.length === 0) return null;
    if (unpriced && unpriced.unpriced.length > 0) throw unpricedRefusal(slots[0]!, unpriced);
    const checks = slots.map((s) => ({ key: s.key, amount: nanos, mode: 'fit' as const, limit: s.limit, ttlMs: s.ttlMs, mustExist: true }));
    for (let tries = 1; ; tries++) {
      const result = await this.counters.tryAdd(checks);
      if (result.ok) return { identity, slots, reserved: nanos, actual: 0, tokens: 0, settled: false };
      if (!result.missing) throw this.refused(slots[result.failed]!, result.values[result.failed]!, nanos);
      if (tries >= SEED_TRIES) {
        // The counter store is losing keys as fast as they are seeded (Redis evicting or restarting): retryable, not a fault of the request.
        throw new AppError('service_unavailable', 'Budgets cannot be checked right now (their counters keep disappearing); try again shortly.', {
          details: { retryable: true, counter: slots[result.failed]!.key },
        });
      }
      await Promise.all(slots.map((s) => this.seed(s)));
    }
  }

  /**
   * Would `nanos` more fit every budget that applies (spent + in flight)? Refuses with 402 (or 403
   * for unpriced models) like a reservation would, but takes nothing: for work estimated up front
   * (an upload's embeddings), whose calls then reserve one by one.
   */
  async check(identity: Identity, nanos: number, unpriced?: UnpricedModels): Promise<void> {
    const slots = await this.slots(identity);
    if (slots.length === 0) return;
    if (unpriced && unpriced.unpriced.length > 0) throw unpricedRefusal(slots[0]!, unpriced);
    const values = await this.values(slots);
    const failed = slots.findIndex((s, i) => values[i]! + nanos > s.limit);
    if (failed >= 0) throw this.refused(slots[failed]!, values[failed]!, nanos);
  }

  /** The 402 for a budget that does not cover `requested`; past the soft threshold the budget is spent, and says so once. */
  private refused(slot: Slot, used: number, requested: number): AppError {
    if (used >= Number(slot.budget.soft_fraction) * slot.limit) {
      this.alerts.send('exhausted', slot, { used_usd: fromNanos(used), requested_usd: fromNanos(requested) });
    }
    return exceeded(slot, used);
  }

  /** Replaces the reservation by the real cost (exactly once). */
  async settle(r: Reservation): Promise<void> {
    if (r.settled) return;
    r.settled = true;
    await this.move(r.slots, r.actual - r.reserved);
  }

  /** Spend that came without a reservation (a ledger row after settlement, an unguarded path). */
  async charge(identity: Identity, nanos: number): Promise<void> {
    if (nanos === 0) return;
    const slots = await this.slots(identity);
    if (slots.length > 0) await this.move(slots, nanos);
  }

  private async move(slots: Slot[], delta: number): Promise<void> {
    const values = await this.counters.add(slots.map((s) => ({ key: s.key, amount: delta, ttlMs: s.ttlMs, mustExist: true })));
    // A counter lost since its reservation: the delta was relative to a value that is gone, so the
    // counter is seeded from the ledger instead of seed + delta. Without a journal this request's
    // rows are in the ledger by now; with one they reach it up to a flush later, and requests in
    // flight at the loss settle against a counter that never held their reservation. Both can
    // undercount by what was in flight then: the most a lost counter lets through.
    const missing = slots.filter((_s, i) => values[i] === null);
    if (missing.length > 0) await Promise.all(missing.map((s) => this.seed(s)));
    slots.forEach((s, i) => {
      const value = values[i];
      if (value != null && value >= Number(s.budget.soft_fraction) * s.limit) this.alerts.send('soft_threshold', s, { used_usd: fromNanos(value) });
    });
  }

  /**
   * For route downgrades: the most used of the caller's budgets. `own`, the asking request's
   * reservation, is left out: its worst case is what the request might cost, not spend, and counting
   * it would downgrade a request for its own estimate (a large max_tokens on a small budget).
   */
  async usedFraction(identity: Identity, own?: Reservation | null): Promise<number | null> {
    const slots = await this.slots(identity);
    if (slots.length === 0) return null;
    const values = await this.values(slots);
    const ownShare = (slot: Slot) => (own && !own.settled && own.slots.some((o) => o.key === slot.key) ? own.reserved : 0);
    return Math.max(...slots.map((s, i) => (s.limit === 0 ? 1 : Math.max(0, values[i]! - ownShare(s)) / s.limit)));
  }

  /** What a budget has used this period (spent + in flight), for the admin API. */
  async used(budget: BudgetRow): Promise<{ period_start: string; used_usd: string }> {
    const slot = slotOf(budget, this.now());
    const [value] = await this.values([slot]);
    return { period_start: slot.start.toISOString(), used_usd: fromNanos(value ?? 0) };
  }
}
