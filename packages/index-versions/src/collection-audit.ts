import type { Queryable } from '@quire/db';

/** Who changed a collection: the caller's signed identity, and the request (its trace id) that did it. */
export interface CollectionActor {
  team_id: string;
  key_id: string;
  requestId: string | null;
}

/** Ingestion writes the first three (`/v1/collections`), retrieval the last (`PUT .../search-settings`). */
export type CollectionAuditAction = 'collection.create' | 'collection.update' | 'collection.delete' | 'search_settings.put';

export interface CollectionChange {
  action: CollectionAuditAction;
  collectionId: string;
  /** The team that owns the collection: not the actor's when an organisation admin acts for it. */
  ownerTeamId: string;
  /**
   * The changed settings' values before and after (null for a create's before and a delete's after).
   * Settings only (name, description, model names, chunking, search knobs): never document text,
   * which the audit log's readers need not be able to read.
   */
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** The names of the settings the change set (a create: all of them; an update: those whose value differs). */
  fields: readonly string[];
  /** Other facts about the change, e.g. how many documents a delete took with it. */
  details?: Record<string, unknown>;
}

/**
 * The governance `audit_log` row of a collection change, written inside the transaction that made
 * the change so that neither commits without the other (a crash in between would leave an
 * unaudited change). Call it as the transaction's last statement: the INSERT waits on the audit
 * log's ordering lock (migrations/0020_audit_log_order.sql), and a holder that then waited for
 * another lock could deadlock with a writer queued behind it. The row shows in `GET /v1/audit`.
 */
export async function recordCollectionChange(tx: Queryable, by: CollectionActor, change: CollectionChange): Promise<void> {
  const json = (v: unknown) => (v === null ? null : JSON.stringify(v));
  await tx.query(
    `INSERT INTO audit_log (request_id, actor_key_id, actor_team_id, action, outcome, target_type, target_id, before, after, details)
     VALUES ($1, $2, $3, $4, 'ok', 'collection', $5, $6::jsonb, $7::jsonb, $8::jsonb)`,
    [
      by.requestId,
      by.key_id,
      by.team_id,
      change.action,
      change.collectionId,
      json(change.before),
      json(change.after),
      JSON.stringify({ owner_team_id: change.ownerTeamId, fields: change.fields, ...change.details }),
    ],
  );
}

/** JSON with object keys sorted, so that equal values compare equal whatever order jsonb gave their keys. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * The settings whose values differ between `before` and `after` (a key in only one of them counts),
 * sorted: neither a caller's key order nor jsonb's then changes what the row says.
 */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(after), ...Object.keys(before)])].sort();
  return keys.filter((key) => canonical(before[key]) !== canonical(after[key]));
}

/** Ingestion writes them: a `DELETE /v1/documents/:id`, a replacement upload's swap (`PUT /v1/documents/:id`), and a `PATCH /v1/documents/:id` (title, metadata). */
export type DocumentAuditAction = 'document.delete' | 'document.replace' | 'document.update';

export interface DocumentChange {
  action: DocumentAuditAction;
  documentId: string;
  collectionId: string;
  /** The team that owns the document's collection: not the actor's for a write grant or an organisation admin. */
  ownerTeamId: string;
  /**
   * Ids, counts and the names of what changed (chunks removed and written, the replacement row, the
   * fields and metadata keys a PATCH changed): never titles, file names, metadata values, hashes or
   * text. A content hash would let a reader of the audit log test a guess of the content.
   */
  details: Record<string, string | number | null | readonly string[]>;
}

/**
 * The governance `audit_log` row of a document's deletion, content replacement or description change,
 * written inside the transaction that made it, like `recordCollectionChange` and with the same rule:
 * the transaction's last statement. The row says who, when and how much, not what.
 */
export async function recordDocumentChange(tx: Queryable, by: CollectionActor, change: DocumentChange): Promise<void> {
  await tx.query(
    `INSERT INTO audit_log (request_id, actor_key_id, actor_team_id, action, outcome, target_type, target_id, details)
     VALUES ($1, $2, $3, $4, 'ok', 'document', $5, $6::jsonb)`,
    [by.requestId, by.key_id, by.team_id, change.action, change.documentId, JSON.stringify({ ...change.details, collection_id: change.collectionId, owner_team_id: change.ownerTeamId })],
  );
}
