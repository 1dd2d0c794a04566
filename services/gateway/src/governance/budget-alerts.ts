import { createHash } from 'node:crypto';
import type { Logger } from '@quire/server-kit';
import { postAlert } from './alert-webhook.js';
import type { Counters } from './counters.js';
import type { BudgetAlertKind, BudgetRow, GovernanceStore } from './store.js';

/**
 * `soft_threshold`: the budget's use passed `soft_fraction` of its limit. `exhausted`: a call was
 * refused by the budget after that (below the soft threshold a refusal is about one oversized
 * request, not about the budget running out).
 */
export type AlertKind = BudgetAlertKind;

/** A budget in one period. */
export interface AlertSubject {
  budget: BudgetRow;
  start: Date;
  /** How long the period's counters live. */
  ttlMs: number;
}

/** After a failed delivery, how long before the alert is tried again (per budget and kind, across replicas): a dead webhook is not hammered. */
export const ALERT_RETRY_MS = 60_000;

/**
 * What the alert is about: a change of limit, soft fraction or webhook makes it a new alert, so a
 * corrected webhook receives it (this process forgets it delivered the old one; the budget's upsert
 * deletes the database claims). Hashed: the webhook URL may hold a token and is not kept in clear.
 */
function revision(b: BudgetRow): string {
  return createHash('sha256').update(`${b.limit_usd}\u0000${b.soft_fraction}\u0000${b.alert_webhook ?? ''}`).digest('hex').slice(0, 16);
}

/**
 * One alert per budget, period and kind: a log line and a POST to the budget's webhook. An alert is
 * claimed before it is sent, so replicas do not send it twice, and the claim is given back when the
 * webhook does not answer 2xx (or cannot be reached), so a later call that crosses the threshold tries
 * again, at most once a minute. A claim is a `budget_alerts` row per budget, period and kind, whose
 * insert (ON CONFLICT DO NOTHING) decides who sends: it survives restarts and a Redis flush, which
 * must not send an alert twice. The upsert of a budget deletes its claims when the limit, fraction or
 * webhook change. Only the minute between tries is kept in Redis (or this process): losing it costs
 * at most an early retry of an alert that is not yet delivered.
 */
export class BudgetAlerts {
  /** Alerts this process delivered: nothing more to do this period. */
  private readonly done = new Set<string>();
  /** When this process may next try an alert that is not done (the shared gate decides across replicas). */
  private readonly nextTry = new Map<string, number>();

  constructor(
    private readonly store: GovernanceStore,
    private readonly counters: Counters,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sends the alert in the background unless it was sent this period or was tried within the last minute. */
  send(kind: AlertKind, subject: AlertSubject, fields: Record<string, string>): void {
    const b = subject.budget;
    const id = `${kind}:${b.id}:${subject.start.getTime()}:${revision(b)}`;
    if (this.done.has(id)) return;
    const now = this.now();
    if ((this.nextTry.get(id) ?? 0) > now) return;
    // Past periods' and revisions' ids are dead weight; the claims keep a cleared id from alerting twice.
    if (this.done.size >= 10_000) this.done.clear();
    if (this.nextTry.size >= 10_000) this.nextTry.clear();
    this.nextTry.set(id, now + ALERT_RETRY_MS);
    void this.attempt(kind, id, subject, fields).catch((error: unknown) => this.logger.warn('budget alert failed', { budget_id: b.id, kind, err: String(error) }));
  }

  private async attempt(kind: AlertKind, id: string, subject: AlertSubject, fields: Record<string, string>): Promise<void> {
    const b = subject.budget;
    const gate = await this.counters.tryAdd([{ key: `alert-try:${kind}:${b.id}`, amount: 1, mode: 'below', limit: 1, ttlMs: ALERT_RETRY_MS }]);
    if (!gate.ok) return;
    // Claimed elsewhere: sent, or being sent and perhaps given back; looked at again in a minute.
    const claim = await this.claim(kind, subject);
    if (claim === null) return;
    const payload = {
      type: `budget.${kind}`, budget_id: b.id, scope: b.scope, scope_id: b.scope_id, period: b.period, period_start: subject.start.toISOString(),
      limit_usd: b.limit_usd, soft_fraction: b.soft_fraction, ...fields,
    };
    this.logger.warn(kind === 'exhausted' ? 'budget exhausted: calls are refused' : 'budget soft threshold reached', payload);
    if (await this.deliver(b, payload)) {
      this.done.add(id);
      this.nextTry.delete(id);
      return;
    }
    await this.unclaim(kind, subject, claim);
  }

  /** True when the webhook answered 2xx (or there is none: the log line was the alert). */
  private async deliver(b: BudgetRow, payload: Record<string, unknown>): Promise<boolean> {
    if (!b.alert_webhook) return true;
    try {
      const res = await postAlert(b.alert_webhook, payload);
      if (res.ok) return true;
      this.logger.warn('budget alert webhook failed; it is tried again by a later call', { budget_id: b.id, status: res.status });
    } catch (error) {
      this.logger.warn('budget alert webhook failed; it is tried again by a later call', { budget_id: b.id, err: String(error) });
    }
    return false;
  }

  /** The claim's token (what `unclaim` needs), or null when the alert is already claimed. */
  private claim(kind: AlertKind, s: AlertSubject): Promise<string | null> {
    return this.store.claimAlert(s.budget.id, s.start, kind);
  }

  private async unclaim(kind: AlertKind, s: AlertSubject, claim: string): Promise<void> {
    await this.store.unclaimAlert(s.budget.id, s.start, kind, claim);
  }
}
