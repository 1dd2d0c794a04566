import type { Identity } from '@quire/contracts';
import { AppError, type Logger } from '@quire/server-kit';
import type { BudgetProbe } from '../routing/budget-probe.js';
import type { Counters } from './counters.js';
import type { BudgetRow, GovernanceStore } from './store.js';
import { postAlert } from './alert-webhook.js';

/** Exact decimal USD to integer micro-dollars, rounded up (a reservation never undercounts). */
export function toMicros(decimal: string | null): number {
  if (!decimal) return 0;
  const [whole = '0', frac = ''] = decimal.replace(/^-/, '').split('.');
  const micros = Number(whole) * 1e6 + Number(frac.slice(0, 6).padEnd(6, '0'));
  return /[1-9]/.test(frac.slice(6)) ? micros + 1 : micros;
}
export const fromMicros = (micros: number) => (micros / 1e6).toFixed(6);

export function periodStart(period: 'day' | 'month', now: number): Date {
  const d = new Date(now);
  return period === 'day' ? new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())) : new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}
const PERIOD_TTL_MS = { day: 2 * 86_400_000, month: 33 * 86_400_000 };

interface Slot {
  budget: BudgetRow;
  start: Date;
  key: string;
  limit: number;
  ttlMs: number;
}

export interface Reservation {
  identity: Identity;
  slots: Slot[];
  reserved: number;
  /** Real cost seen so far (ledger rows of this request), micro-dollars. */
  actual: number;
  tokens: number;
  settled: boolean;
}

function slotOf(budget: BudgetRow, now: number): Slot {
  const start = periodStart(budget.period, now);
  return { budget, start, key: `bud:${budget.id}:${start.getTime()}`, limit: toMicros(budget.limit_usd), ttlMs: PERIOD_TTL_MS[budget.period] };
}

function exceeded(s: Slot, used: number): AppError {
  return new AppError('budget_exceeded', `The ${s.budget.period}ly budget of ${s.budget.scope} "${s.budget.scope_id}" ($${s.budget.limit_usd.replace(/\.?0+$/, '')}) does not cover this request.`, {
    details: { budget_id: s.budget.id, scope: s.budget.scope, scope_id: s.budget.scope_id, period: s.budget.period, limit_usd: s.budget.limit_usd, used_usd: fromMicros(used) },
  });
}

/** Tries of a reservation whose counter goes missing again right after it was seeded. */
const SEED_TRIES = 3;

/**
 * Budgets per team and per key, per UTC day or month. The counter of a budget holds spent plus
 * reserved micro-dollars for its period; it is seeded from the ledger (the source of truth) whenever
 * it does not exist, and otherwise moved only by reservations and settlements, atomically (one
 * event-loop turn in memory, one Lua script in Redis), so concurrent requests can never take more
 * than the limit between them. Counters are never created by a move: a counter that Redis lost
 * (restart, eviction, flush) would otherwise restart from zero and forget the period's spend.
 */
export class Budgets implements BudgetProbe {
  private readonly cache = new Map<string, { rows: BudgetRow[]; at: number }>();
  /** Seeds in flight, one per counter; removed when done, so nothing here outlives a seed. */
  private readonly seeding = new Map<string, Promise<void>>();
  private readonly alerted = new Set<string>();
  /** Bumped by `invalidate`: rows read across a change are not cached (see Authenticator). */
  private generation = 0;

  constructor(
    private readonly store: GovernanceStore,
    private readonly counters: Counters,
    private readonly logger: Logger,
    private readonly ttlMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

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
        .then((spent) => this.counters.seed(slot.key, toMicros(spent), slot.ttlMs))
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

  /** Takes the worst-case cost out of every budget that applies, or refuses with 402. */
  async reserve(identity: Identity, micros: number): Promise<Reservation | null> {
    const slots = await this.slots(identity);
    if (slots.length === 0) return null;
    const checks = slots.map((s) => ({ key: s.key, amount: micros, mode: 'fit' as const, limit: s.limit, ttlMs: s.ttlMs, mustExist: true }));
    for (let tries = 1; ; tries++) {
      const result = await this.counters.tryAdd(checks);
      if (result.ok) return { identity, slots, reserved: micros, actual: 0, tokens: 0, settled: false };
      if (!result.missing) throw exceeded(slots[result.failed]!, result.values[result.failed]!);
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
   * Would `micros` more fit every budget that applies (spent + in flight)? Refuses with 402 like a
   * reservation would, but takes nothing: for work estimated up front (an upload's embeddings),
   * whose calls then reserve one by one.
   */
  async check(identity: Identity, micros: number): Promise<void> {
    const slots = await this.slots(identity);
    if (slots.length === 0) return;
    const values = await this.values(slots);
    const failed = slots.findIndex((s, i) => values[i]! + micros > s.limit);
    if (failed >= 0) throw exceeded(slots[failed]!, values[failed]!);
  }

  /** Replaces the reservation by the real cost (exactly once). */
  async settle(r: Reservation): Promise<void> {
    if (r.settled) return;
    r.settled = true;
    await this.move(r.slots, r.actual - r.reserved);
  }

  /** Spend that came without a reservation (a ledger row after settlement, an unguarded path). */
  async charge(identity: Identity, micros: number): Promise<void> {
    if (micros === 0) return;
    const slots = await this.slots(identity);
    if (slots.length > 0) await this.move(slots, micros);
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
      if (value != null && value >= Number(s.budget.soft_fraction) * s.limit) this.alert(s, value);
    });
  }

  /** One alert per budget and period: a log line and a POST to the budget's webhook. */
  private alert(slot: Slot, used: number): void {
    const id = `${slot.budget.id}:${slot.start.getTime()}`;
    if (this.alerted.has(id)) return;
    // Past periods' ids are dead weight; the database's claim keeps a cleared id from alerting twice.
    if (this.alerted.size >= 10_000) this.alerted.clear();
    this.alerted.add(id);
    void (async () => {
      if (!(await this.store.claimAlert(slot.budget.id, slot.start))) return;
      const b = slot.budget;
      const payload = { type: 'budget.soft_threshold', budget_id: b.id, scope: b.scope, scope_id: b.scope_id, period: b.period, period_start: slot.start.toISOString(), limit_usd: b.limit_usd, used_usd: fromMicros(used), soft_fraction: b.soft_fraction };
      this.logger.warn('budget soft threshold reached', payload);
      if (b.alert_webhook) {
        const res = await postAlert(b.alert_webhook, payload);
        if (!res.ok) this.logger.warn('budget alert webhook failed', { budget_id: b.id, status: res.status });
      }
    })().catch((error: unknown) => this.logger.warn('budget alert failed', { budget_id: slot.budget.id, err: String(error) }));
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
    return { period_start: slot.start.toISOString(), used_usd: fromMicros(value ?? 0) };
  }
}
