import type { Db, Queryable } from '@quire/db';
import type { Logger } from '@quire/server-kit';

export interface AuditEntry {
  requestId: string | undefined;
  actorKeyId: string | null;
  actorTeamId: string | null;
  action: string;
  outcome: 'ok' | 'refused';
  code?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  before?: unknown;
  after?: unknown;
  details?: unknown;
}

export interface AuditRow {
  id: string;
  created_at: string;
  request_id: string | null;
  actor_key_id: string | null;
  actor_team_id: string | null;
  action: string;
  outcome: string;
  code: string | null;
  target_type: string | null;
  target_id: string | null;
  before: unknown;
  after: unknown;
  details: unknown;
}

const MAX_PENDING = 5000;
const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

/**
 * The advisory lock every audit INSERT takes first, held until its transaction ends: a statement
 * trigger on `audit_log` takes it (migrations/0020_audit_log_order.sql says why), so audit rows become
 * visible in id order and a reader paging `list` never passes over one.
 */
export const AUDIT_ORDER_LOCK = '8175556638606980452';

/**
 * The append-only audit log (a trigger refuses UPDATE and DELETE). Administrative changes write
 * their row in their own transaction (`write`), so a change never commits without it; refusals are
 * queued and written in the background (`refused`), so a flood of bad requests costs no database
 * round trip each and, past MAX_PENDING, is counted in a log line rather than stored row by row.
 */
export class AuditLog {
  private pending: AuditEntry[] = [];
  private flushing: Promise<void> | null = null;
  private dropped = 0;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  /**
   * `tx`: the transaction of the change being audited (required, so that no change commits without
   * its row), as its last statement (see AUDIT_ORDER_LOCK).
   */
  async write(entries: AuditEntry | AuditEntry[], tx: Queryable): Promise<void> {
    const list = Array.isArray(entries) ? entries : [entries];
    if (list.length === 0) return;
    const params: unknown[] = [];
    const rows = list.map((e) => {
      const base = params.length;
      params.push(e.requestId ?? null, e.actorKeyId, e.actorTeamId, e.action, e.outcome, e.code ?? null, e.targetType ?? null, e.targetId ?? null, json(e.before), json(e.after), json(e.details));
      return `(${Array.from({ length: 11 }, (_, i) => `$${base + i + 1}${i >= 8 ? '::jsonb' : ''}`).join(', ')})`;
    });
    await tx.query(
      `INSERT INTO audit_log (request_id, actor_key_id, actor_team_id, action, outcome, code, target_type, target_id, before, after, details) VALUES ${rows.join(', ')}`,
      params,
    );
  }

  refused(entry: AuditEntry): void {
    if (this.pending.length >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.pending.push(entry);
    if (!this.flushing) this.flushing = this.drain();
  }

  /** Resolves when every queued refusal is written (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, 200);
        await this.write(batch, this.db).catch((error: unknown) => this.logger.error('audit write failed', { rows: batch.length, err: String(error) }));
      }
      if (this.dropped > 0) {
        this.logger.warn('audit refusals dropped under load', { dropped: this.dropped });
        this.dropped = 0;
      }
    } finally {
      this.flushing = null;
    }
  }

  /** Newest first; the cursor is the last id seen. Complete under concurrent writes: see AUDIT_ORDER_LOCK. */
  async list(filter: { limit: number; cursor: string | null; action?: string; outcome?: string; team?: string }): Promise<{ data: AuditRow[]; next_cursor: string | null }> {
    const r = await this.db.query<AuditRow>(
      `SELECT id::text AS id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at, request_id, actor_key_id, actor_team_id,
              action, outcome, code, target_type, target_id, before, after, details
         FROM audit_log
        WHERE ($1::bigint IS NULL OR id < $1::bigint) AND ($2::text IS NULL OR action = $2) AND ($3::text IS NULL OR outcome = $3)
          AND ($4::text IS NULL OR actor_team_id = $4)
        ORDER BY audit_log.id DESC LIMIT $5`,
      [filter.cursor, filter.action ?? null, filter.outcome ?? null, filter.team ?? null, filter.limit + 1],
    );
    const data = r.rows.slice(0, filter.limit);
    return { data, next_cursor: r.rows.length > filter.limit ? data[data.length - 1]!.id : null };
  }
}
