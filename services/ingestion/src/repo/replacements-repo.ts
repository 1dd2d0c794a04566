import { DocumentErrorSchema, type DocumentError, type DocumentFailureCode } from '@quire/contracts';
import { readJsonb, type Queryable } from '@quire/db';
import { z } from 'zod';
import { releaseEmbeddingUses } from '../embed/embedding-cache.js';
import { documentError, type LimitsInForce } from './failure-advice.js';

/**
 * A replacement upload (PUT /v1/documents/:id) is its own row, `replaces_document_id` naming its
 * target, until its content is swapped in (index/index-chunks.ts). Only the latest accepted one may
 * swap: accepting a new one supersedes the target's unfinished ones, and the swap refuses a row that
 * a newer replacement followed. After the swap the row stays as a `ready` pointer to its target, so
 * its id keeps answering; failed rows (superseded ones included) stay for inspection until a later
 * replacement succeeds or the document is deleted (ON DELETE CASCADE).
 */

/** The `error.code` of a replacement that a newer one superseded before it finished. */
export const SUPERSEDED_CODE = 'superseded' satisfies DocumentFailureCode;

/**
 * Locks the document a replacement is for, so concurrent replacements of it are accepted one at a
 * time and a swap (which takes the same lock first) sees every acceptance before or after it. False
 * when it is gone (deleted since the caller checked), is not in the collection, or is itself a
 * replacement row.
 */
export async function lockReplacementTarget(tx: Queryable, targetId: string, collectionId: string): Promise<boolean> {
  const r = await tx.query(`SELECT 1 FROM documents WHERE id = $1 AND collection_id = $2 AND replaces_document_id IS NULL FOR UPDATE`, [targetId, collectionId]);
  return r.rows.length > 0;
}

/**
 * Marks replacement rows failed with code `superseded` and bumps their version, which fences their
 * jobs: a claim, progress write or swap at the old version does nothing. Returns the rows marked,
 * with the id of the job each had queued (for the caller to discard once committed).
 * With `ids` null, every unfinished replacement of the target but `by`.
 */
export async function supersedeReplacements(tx: Queryable, targetId: string, by: string, ids: string[] | null = null): Promise<{ id: string; jobId: string | null }[]> {
  const r = await tx.query<{ id: string; job_id: string | null }>(
    `UPDATE documents
        SET status = 'failed', version = version + 1, error_code = '${SUPERSEDED_CODE}', error_stage = stage, error_limit = NULL,
            error_message = 'Superseded by replacement ' || $2::text || ', accepted before this one finished; its content was not swapped in.',
            heartbeat_at = now(), updated_at = now()
      WHERE replaces_document_id = $1 AND id <> $2 AND status IN ('queued', 'processing') AND ($3::uuid[] IS NULL OR id = ANY($3::uuid[]))
      RETURNING id, job_id`,
    [targetId, by, ids],
  );
  return r.rows.map((row) => ({ id: row.id, jobId: row.job_id }));
}

/**
 * A replacement of the same target accepted after this one, if any (its id). Acceptance order is
 * `created_at`, which `insertDocument` makes strictly increasing per target under the target's lock.
 */
export async function newerReplacement(tx: Queryable, targetId: string, replacementId: string): Promise<string | null> {
  const r = await tx.query<{ id: string }>(
    `SELECT n.id FROM documents n, documents me
      WHERE me.id = $2 AND n.replaces_document_id = $1 AND n.id <> me.id AND n.created_at > me.created_at
      ORDER BY n.created_at DESC LIMIT 1`,
    [targetId, replacementId],
  );
  return r.rows[0]?.id ?? null;
}

/**
 * After a successful swap: the replacement's bytes now live with its target (its own copy goes), and
 * the target's failed replacements are resolved by this success (they go too).
 * The replacement row itself stays, `ready`, as a pointer to its target (not "goes away", as migrations/0005 says).
 * Returns the hashes of the texts the deleted ones' jobs recorded using (embed/embedding-cache.ts),
 * for the caller's `forgetUnusedEmbeddings`: a replacement that failed while embedding has cached
 * vectors and no chunks. The caller holds the target's lock, which a retry of one of them takes too.
 */
export async function settleReplacements(tx: Queryable, targetId: string, replacementId: string): Promise<string[]> {
  await tx.query(`DELETE FROM document_blobs WHERE document_id = $1`, [replacementId]);
  const failed = await tx.query<{ id: string }>(`SELECT id FROM documents WHERE replaces_document_id = $1 AND id <> $2 AND status = 'failed' ORDER BY id FOR UPDATE`, [targetId, replacementId]);
  const ids = failed.rows.map((r) => r.id);
  if (ids.length === 0) return [];
  const used = await releaseEmbeddingUses(tx, ids);
  await tx.query(`DELETE FROM documents WHERE id = ANY($1::uuid[])`, [ids]);
  return used;
}

/**
 * A `replacementStateSql` column as it arrives (NULL: no such replacement). Built by that SQL in the
 * same query, so a mismatch is a bug in one of the two and throws.
 */
const ReplacementColumnSchema = z
  .object({
    id: z.string(),
    status: z.enum(['queued', 'processing', 'failed']),
    stage: z.string(),
    created_at: z.string(),
    error: DocumentErrorSchema.pick({ code: true, message: true, stage: true }).extend({ limit: z.unknown() }).nullable(),
  })
  .nullable();
type ReplacementColumn = NonNullable<z.infer<typeof ReplacementColumnSchema>>;

/** What a document's listing shows of its latest unfinished or failed replacement. */
export interface ReplacementState {
  id: string;
  status: ReplacementColumn['status'];
  stage: string;
  /** As a document's `error`, with `retryable` and `action` derived from the code (retry: the replacement's id; PUT: the document's). */
  error: DocumentError | null;
  created_at: string;
}

/**
 * SQL for a `replacement` column of document `d`: its latest replacement that is not swapped in yet
 * or failed, as JSON, or NULL. `visible` is the document-level access condition on `r`.
 */
export const replacementStateSql = (visible: string) => `(
  SELECT jsonb_build_object('id', r.id, 'status', r.status, 'stage', r.stage, 'created_at', r.created_at,
           'error', CASE WHEN r.status = 'failed' AND r.error_code IS NOT NULL
                         THEN jsonb_build_object('code', r.error_code, 'message', COALESCE(r.error_message, ''), 'stage', r.error_stage, 'limit', r.error_limit) END)
    FROM documents r
   WHERE r.collection_id = d.collection_id AND r.replaces_document_id = d.id AND r.status <> 'ready' AND ${visible}
   ORDER BY r.created_at DESC, r.id DESC LIMIT 1)`;

/**
 * SQL rows `(document_id, status)`: for each document of the collection `collection` (an SQL
 * expression) with a replacement not swapped in yet or failed, its latest one, the one
 * `replacementStateSql` shows. For the document list's `replacement_status` filter and the collection's
 * `replacement_counts`, which so agree with each other and with every document's `replacement`.
 * `visible` is the document-level access condition on `r`. The collection and status conditions let it
 * read documents_collection_status_idx, skipping the `ready` pointers every swapped-in replacement leaves.
 */
export const latestReplacementsSql = (collection: string, visible: string) => `
  SELECT DISTINCT ON (r.replaces_document_id) r.replaces_document_id AS document_id, r.status
    FROM documents r
   WHERE r.collection_id = ${collection} AND r.status IN ('queued', 'processing', 'failed') AND r.replaces_document_id IS NOT NULL AND ${visible}
   ORDER BY r.replaces_document_id, r.created_at DESC, r.id DESC`;

/** `documentId`: the document the replacement is for; `limits`: those in force (see failure-advice.ts). */
export function toReplacementState(value: unknown, documentId: string, limits: LimitsInForce | undefined): ReplacementState | null {
  const v = value ? readJsonb(ReplacementColumnSchema, value, `documents.replacement (document ${documentId})`) : null;
  if (!v) return null;
  const error = v.error ? documentError({ id: v.id, documentId, ...v.error }, limits) : null;
  return { id: v.id, status: v.status, stage: v.stage, error, created_at: new Date(v.created_at).toISOString() };
}
