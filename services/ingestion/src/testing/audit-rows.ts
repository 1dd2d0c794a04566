import type { Queryable } from '@quire/db';

/** An audit_log row as the audit tests read it. */
export interface AuditRow {
  request_id: string | null;
  actor_key_id: string;
  actor_team_id: string;
  action: string;
  outcome: string;
  target_type: string;
  target_id: string;
  // JSON columns, matched field by field.
  before: any;
  after: any;
  details: any;
}

/** Every audit row about one target (a collection, a document), oldest first. */
export async function auditRowsFor(db: Queryable, targetId: string): Promise<AuditRow[]> {
  const r = await db.query<AuditRow>(
    `SELECT request_id, actor_key_id, actor_team_id, action, outcome, target_type, target_id, before, after, details FROM audit_log WHERE target_id = $1 ORDER BY id`,
    [targetId],
  );
  return r.rows;
}
