import { IdentitySchema, type DocumentErrorCode, type DocumentFailureCode, type DocumentStage, type Identity } from '@quire/contracts';
import type { Db, Queryable } from '@quire/db';
import { DEFAULT_LIMITS, type FailedLimit } from '../limits.js';
import { fromBase64 } from './blob-transfer.js';
import { toNumber } from './sql-values.js';

/**
 * A document's job state: which attempt owns it (an exclusive claim under its version), its progress
 * and liveness, its final failure, and what the reconciler finds abandoned. Every write names the
 * version it belongs to, so an attempt that lost its document writes nothing.
 */

/**
 * Records the job that runs the document. With `version`, only while the document is still at it: a
 * reconciler that enqueued for a version another process has since taken over must not overwrite the
 * newer job's id (the document would report, and a supersede would discard, the wrong job).
 */
export async function setJobId(db: Queryable, documentId: string, jobId: string, version?: number): Promise<void> {
  await db.query(`UPDATE documents SET job_id = $2 WHERE id = $1 AND ($3::int IS NULL OR version = $3)`, [documentId, jobId, version ?? null]);
}

// ---- job state -------------------------------------------------------------------------------

export interface ClaimedDocument {
  collectionId: string;
  mime: string;
  bytes: Uint8Array;
  /** The version this attempt owns: the job's, or one higher when it took over a stalled attempt. */
  version: number;
  takenOver: boolean;
}

/**
 * `held`: another attempt owns the document, is alive and making progress (or has been abandoned on
 * its last attempt, which the reconciler fails). `gone`: finished, deleted or superseded by a newer version.
 */
export type ClaimResult = { kind: 'claimed'; document: ClaimedDocument } | { kind: 'held' } | { kind: 'gone' };

export interface ClaimOptions {
  /** An attempt whose progress heartbeat is older than this has stalled, and may be taken over. */
  staleAfterMs: number;
  /** An attempt that has shown no sign of life (`alive_at`) for this long has lost its worker, and may be taken over. */
  deadAfterMs: number;
  /** An abandoned attempt that was the document's last is left to the reconciler to fail (`stalled`). */
  maxAttempts: number;
}

// An attempt is abandoned when it is stalled (alive, perhaps, but no progress for `stale` ms) or its
// holder is dead (no sign of life for `dead` ms). `stale` and `dead` are the SQL parameters holding
// those times. Liveness falls back to progress for rows written before alive_at existed, or by an
// older worker during a rolling deploy: GREATEST skips a NULL.
const olderThanSql = (column: string, ms: string) => `${column} <= now() - (${ms}::int * interval '1 millisecond')`;
const stalledSql = (stale: string) => olderThanSql('COALESCE(heartbeat_at, updated_at)', stale);
const deadSql = (dead: string) => olderThanSql('COALESCE(GREATEST(alive_at, heartbeat_at), updated_at)', dead);
const abandonedSql = (stale: string, dead: string) => `(${stalledSql(stale)} OR ${deadSql(dead)})`;
/** A time in ms as text: '60 s', or '400 ms' below a second. */
const durationSql = (ms: string) => `CASE WHEN ${ms}::int < 1000 THEN ${ms}::int || ' ms' ELSE round(${ms}::numeric / 1000) || ' s' END`;
/** Why an attempt counts as abandoned, read from the row before the takeover changes it. */
const abandonedReasonSql = (stale: string, dead: string) =>
  `CASE WHEN ${stalledSql(stale)} THEN 'No progress for ' || ${durationSql(stale)} || ' during ' || stage
        ELSE 'Worker stopped (no sign of life for ' || ${durationSql(dead)} || ') during ' || stage END`;
const utcNowSql = `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

/**
 * Starts an attempt, exclusively: only a `queued` document at the job's version can be claimed, so
 * a duplicate delivery while another attempt runs (a second worker, a stalled-job redelivery of a
 * live job) neither parses nor embeds, and one after success, or for a deleted document, stops
 * here. The single UPDATE is the lock: of two concurrent claims, the second re-reads the row the
 * first wrote and no longer matches. An abandoned attempt (its worker died, or it stopped making
 * progress) is taken over under the next version, the same fence the reconciler uses, so the old
 * attempt cannot commit if it wakes up.
 */
export async function claimDocument(db: Queryable, documentId: string, version: number, options: ClaimOptions): Promise<ClaimResult> {
  // In SET, every column reference reads the row as it was before this UPDATE.
  const r = await db.query<{ collection_id: string; mime_type: string; version: number; bytes: string }>(
    `WITH claimed AS (
       UPDATE documents
          SET version = CASE WHEN status = 'processing' THEN version + 1 ELSE version END,
              stall_reason = CASE WHEN status = 'processing'
                THEN ${abandonedReasonSql('$3', '$5')} || ' (attempt ' || attempts || '); taken over by a redelivered job at ' || ${utcNowSql} || '.'
                ELSE stall_reason END,
              status = 'processing', stage = 'parsing', attempts = attempts + 1, chunks_embedded = 0, chunks_cached = 0,
              heartbeat_at = now(), alive_at = now(), updated_at = now()
        WHERE id = $1 AND version = $2
          AND (status = 'queued' OR (status = 'processing' AND attempts < $4::int AND ${abandonedSql('$3', '$5')}))
        RETURNING id, collection_id, mime_type, version)
     SELECT c.collection_id, c.mime_type, c.version, encode(b.bytes, 'base64') AS bytes FROM claimed c JOIN document_blobs b ON b.document_id = c.id`,
    [documentId, version, options.staleAfterMs, options.maxAttempts, options.deadAfterMs],
  );
  const row = r.rows[0];
  if (row) {
    const owned = toNumber(row.version);
    return { kind: 'claimed', document: { collectionId: row.collection_id, mime: row.mime_type, bytes: fromBase64(row.bytes), version: owned, takenOver: owned !== version } };
  }
  // Only tells the two refusals apart for the log; neither changes anything.
  const now = await db.query<{ status: string }>(`SELECT status FROM documents WHERE id = $1 AND version = $2`, [documentId, version]);
  return now.rows[0]?.status === 'processing' ? { kind: 'held' } : { kind: 'gone' };
}

export interface ProgressUpdate {
  stage?: DocumentStage;
  pagesParsed?: number | null;
  pagesTotal?: number | null;
  chunksTotal?: number | null;
  chunksEmbedded?: number;
  /** Of `chunksEmbedded`, how many came from the embedding cache: the ETA leaves them out of the provider's rate. */
  chunksCached?: number;
  warnings?: string[];
  scannedPages?: number[];
  /** Starts the clock the ETA is computed from. */
  embedStarted?: boolean;
}

/**
 * Writes progress and the heartbeat (progress is a sign of life too), only while this job's version is
 * still the live one. False once the attempt no longer owns the document (deleted, taken over or
 * replaced under a newer version, no longer `processing`): the caller stops instead of embedding on.
 */
export async function updateProgress(db: Queryable, documentId: string, version: number, p: ProgressUpdate): Promise<boolean> {
  const r = await db.query(
    `UPDATE documents
        SET stage = COALESCE($3, stage),
            pages_parsed = CASE WHEN $4::boolean THEN $5::int ELSE pages_parsed END,
            pages_total = CASE WHEN $4::boolean THEN $6::int ELSE pages_total END,
            chunks_total = CASE WHEN $7::boolean THEN $8::int ELSE chunks_total END,
            chunks_embedded = COALESCE($9::int, chunks_embedded),
            warnings = COALESCE($10::jsonb, warnings),
            scanned_pages = COALESCE($11::int[], scanned_pages),
            embed_started_at = CASE WHEN $12::boolean THEN now() ELSE embed_started_at END,
            chunks_cached = COALESCE($13::int, chunks_cached),
            heartbeat_at = now(), alive_at = now(), updated_at = now()
      WHERE id = $1 AND version = $2 AND status = 'processing'
      RETURNING id`,
    [
      documentId,
      version,
      p.stage ?? null,
      p.pagesTotal !== undefined,
      p.pagesParsed ?? null,
      p.pagesTotal ?? null,
      p.chunksTotal !== undefined,
      p.chunksTotal ?? null,
      p.chunksEmbedded ?? null,
      p.warnings ? JSON.stringify(p.warnings) : null,
      p.scannedPages ?? null,
      p.embedStarted ?? false,
      p.chunksCached ?? null,
    ],
  );
  return r.rows.length > 0;
}

/**
 * The running attempt's sign of life, apart from its progress: false once the attempt no longer owns
 * the document (finished, taken over, deleted). Leaves updated_at alone, which tells when the
 * document last changed.
 */
export async function markAlive(db: Queryable, documentId: string, version: number): Promise<boolean> {
  const r = await db.query(`UPDATE documents SET alive_at = now() WHERE id = $1 AND version = $2 AND status = 'processing' RETURNING id`, [documentId, version]);
  return r.rows.length > 0;
}

export interface Failure {
  code: DocumentErrorCode;
  message: string;
  stage: DocumentStage;
  /** The limit the file ran into, where one is the cause: a retry is let through once it is raised (see FailedLimit). */
  limit?: FailedLimit | undefined;
}

export async function markFailed(db: Queryable, documentId: string, version: number, failure: Failure): Promise<void> {
  await db.query(
    `UPDATE documents SET status = 'failed', stage = $3, error_code = $4, error_message = $5, error_stage = $3,
            error_limit = $6::jsonb, heartbeat_at = now(), updated_at = now()
      WHERE id = $1 AND version = $2 AND status IN ('queued', 'processing')`,
    [documentId, version, failure.stage, failure.code, failure.message, failure.limit ? JSON.stringify(failure.limit) : null],
  );
}

/** Between attempts the document waits as `queued`; the failure so far is only logged. */
export async function markRetrying(db: Queryable, documentId: string, version: number): Promise<void> {
  await db.query(
    `UPDATE documents SET status = 'queued', stage = 'queued', updated_at = now()
      WHERE id = $1 AND version = $2 AND status = 'processing'`,
    [documentId, version],
  );
}

// ---- reconciler ------------------------------------------------------------------------------

/** The `error.code` of a document abandoned on its last attempt. */
const STALLED_CODE: DocumentFailureCode = 'stalled';

export interface UnfinishedDocument {
  documentId: string;
  collectionId: string;
  version: number;
  teamId: string;
  identity: Identity | null;
  traceId: string | null;
}

type UnfinishedRow = { id: string; collection_id: string; version: number; team_id: string; submitted_identity: unknown; trace_id: string | null };

function toUnfinished(row: UnfinishedRow): UnfinishedDocument {
  const identity = IdentitySchema.safeParse(row.submitted_identity);
  return {
    documentId: row.id,
    collectionId: row.collection_id,
    version: row.version,
    teamId: row.team_id,
    identity: identity.success ? identity.data : null,
    traceId: row.trace_id,
  };
}

/** Unfinished documents last touched before `olderThanMs` ago (0 takes all of them). */
export async function findUnfinished(db: Queryable, olderThanMs: number, limit: number): Promise<UnfinishedDocument[]> {
  const r = await db.query<UnfinishedRow>(
    `SELECT id, collection_id, version, team_id, submitted_identity, trace_id FROM documents
      WHERE status IN ('queued', 'processing') AND updated_at <= now() - ($1::int * interval '1 millisecond')
      ORDER BY created_at LIMIT $2`,
    [olderThanMs, limit],
  );
  return r.rows.map(toUnfinished);
}

/**
 * Takes over abandoned documents: those whose worker died (no sign of life for `deadAfterMs`) or
 * stopped making progress (no heartbeat for `staleAfterMs`). The version bump fences the old worker
 * out, so if it wakes up it cannot commit over the new attempt. A document that has used all its
 * attempts (one that keeps killing its worker, say) fails for good with code `stalled`, its stage
 * and the reason, instead of being retried for ever.
 */
export async function takeOverStale(db: Db, staleAfterMs: number, limit: number, maxAttempts: number, deadAfterMs = DEFAULT_LIMITS.deadAfterMs): Promise<UnfinishedDocument[]> {
  // $3: stale after (ms), $4: dead after (ms).
  return takeOver(db, abandonedSql('$3', '$4'), abandonedReasonSql('$3', '$4'), [limit, maxAttempts, staleAfterMs, deadAfterMs]);
}

/**
 * Takes over every `processing` document at once, however recent its heartbeat: for a process that is
 * the only worker of this database's jobs (the in-process queue), at start-up and before its runner
 * starts, when each of them is an orphan of an earlier process. The same takeover as takeOverStale's
 * (version bump, `stall_reason`, `stalled` on the last attempt), with the restart as the reason.
 */
export async function takeOverOrphans(db: Db, limit: number, maxAttempts: number): Promise<UnfinishedDocument[]> {
  return takeOver(db, 'TRUE', `'Worker stopped (its process restarted) during ' || stage`, [limit, maxAttempts]);
}

/**
 * Fails the `processing` documents matching `abandoned` that used all their attempts and re-queues the
 * rest under the next version. `reason` (SQL text) says why, read from the row before the takeover
 * changes it. Parameters: $1 the limit per sweep, $2 the attempts, then those `abandoned` and `reason`
 * use. Each UPDATE re-checks the condition outside the sub-select: under READ COMMITTED only the outer
 * WHERE is re-evaluated on a row another transaction (a redelivered job's claim, say) changed meanwhile.
 */
async function takeOver(db: Db, abandoned: string, reason: string, params: unknown[]): Promise<UnfinishedDocument[]> {
  const exhausted = `status = 'processing' AND attempts >= $2::int AND ${abandoned}`;
  await db.query(
    `UPDATE documents SET version = version + 1, status = 'failed', error_code = '${STALLED_CODE}', error_stage = stage, error_limit = NULL,
            error_message = ${reason} || ' on attempt ' || attempts || ' of ' || $2::int || '; not retried again.',
            heartbeat_at = now(), updated_at = now()
      WHERE id IN (SELECT id FROM documents WHERE ${exhausted} LIMIT $1) AND ${exhausted}`,
    params,
  );
  const retried = `status = 'processing' AND attempts < $2::int AND ${abandoned}`;
  const r = await db.query<UnfinishedRow>(
    `UPDATE documents SET version = version + 1, status = 'queued',
            stall_reason = ${reason} || ' (attempt ' || attempts
              || '); taken over and retried at ' || ${utcNowSql} || '.',
            stage = 'queued', updated_at = now()
      WHERE id IN (SELECT id FROM documents WHERE ${retried} LIMIT $1) AND ${retried}
      RETURNING id, collection_id, version, team_id, submitted_identity, trace_id`,
    params,
  );
  return r.rows.map(toUnfinished);
}
