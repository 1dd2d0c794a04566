import type { Db, Queryable } from '@quire/db';
import { ChunkingSchema, IdentitySchema, type Chunking, type Identity } from '@quire/contracts';
import { dropVersionGraphs } from '../index/hnsw-index.js';
import { activateIndexVersion, lockCollectionForVersionChange, recordActivation, type ActivationOutcome } from '@quire/index-versions';
import { isoString, isUuid, toNullableNumber, toNumber } from '../repo/sql-values.js';

interface VersionRow {
  id: string;
  collection_id: string;
  embedding_model: string | null;
  dimensions: number | null;
  requested_dimensions: number | null;
  chunking: unknown;
  status: string;
  activate_on_ready: boolean;
  chunks_total: number;
  chunks_embedded: number;
  error_message: string | null;
  submitted_identity: unknown;
  created_at: unknown;
  activated_at: unknown;
  is_current: boolean;
  build_resumes: number;
  build_stall_reason: string | null;
  stalled_now: string | null;
}

export interface IndexVersionView {
  id: string;
  object: 'index_version';
  collection_id: string;
  embedding_model: string | null;
  dimensions: number | null;
  chunking: Chunking | null;
  status: string;
  current: boolean;
  activate: 'on_ready' | 'manual';
  progress: {
    chunks_total: number;
    chunks_embedded: number;
    /** Set while the build has stalled: its holder stopped renewing the lease and no process has resumed it yet. */
    stalled: string | null;
    /** How many times the build was resumed after stalling, and the last such takeover. */
    resumes: number;
    last_stall: string | null;
  };
  error: string | null;
  created_at: string;
  activated_at: string | null;
}

const SELECT = `SELECT iv.id, iv.collection_id, iv.embedding_model, iv.dimensions, iv.requested_dimensions, iv.chunking, iv.status,
       iv.activate_on_ready, iv.chunks_total, iv.chunks_embedded, iv.error_message, iv.submitted_identity, iv.created_at,
       iv.activated_at, (c.current_index_version_id = iv.id) AS is_current, iv.build_resumes, iv.build_stall_reason,
       CASE WHEN iv.status = 'building' AND iv.build_holder IS NOT NULL AND iv.build_lease_until <= now()
            THEN 'Builder ' || iv.build_holder || ' stopped making progress (lease expired '
                 || to_char(iv.build_lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '); waiting for a live process to resume it.'
       END AS stalled_now
  FROM index_versions iv JOIN collections c ON c.id = iv.collection_id`;

export function toVersionView(row: VersionRow): IndexVersionView {
  return {
    id: row.id,
    object: 'index_version',
    collection_id: row.collection_id,
    embedding_model: row.embedding_model,
    dimensions: toNullableNumber(row.dimensions),
    chunking: row.chunking ? ChunkingSchema.parse(row.chunking) : null,
    status: row.status,
    current: row.is_current === true,
    activate: row.activate_on_ready ? 'on_ready' : 'manual',
    progress: {
      chunks_total: toNumber(row.chunks_total),
      chunks_embedded: toNumber(row.chunks_embedded),
      stalled: row.stalled_now ?? null,
      resumes: toNumber(row.build_resumes ?? 0),
      last_stall: row.build_stall_reason ?? null,
    },
    error: row.error_message,
    created_at: isoString(row.created_at),
    activated_at: row.activated_at ? isoString(row.activated_at) : null,
  };
}

export async function listVersions(db: Queryable, collectionId: string): Promise<IndexVersionView[]> {
  const r = await db.query<VersionRow>(`${SELECT} WHERE iv.collection_id = $1 ORDER BY iv.created_at, iv.id`, [collectionId]);
  return r.rows.map(toVersionView);
}

export async function getVersion(db: Queryable, collectionId: string, id: string): Promise<(IndexVersionView & { identity: Identity | null; requestedDimensions: number | null }) | null> {
  if (!isUuid(id)) return null;
  const r = await db.query<VersionRow>(`${SELECT} WHERE iv.collection_id = $1 AND iv.id = $2`, [collectionId, id]);
  const row = r.rows[0];
  if (!row) return null;
  const identity = IdentitySchema.safeParse(row.submitted_identity);
  return { ...toVersionView(row), identity: identity.success ? identity.data : null, requestedDimensions: toNullableNumber(row.requested_dimensions) };
}

export async function createBuildingVersion(
  db: Queryable,
  input: { collectionId: string; embeddingModel: string; dimensions: number | null; chunking: Chunking; activateOnReady: boolean; identity: Identity },
): Promise<string> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO index_versions (collection_id, embedding_model, requested_dimensions, chunking, status, activate_on_ready, submitted_identity, hnsw_state)
     VALUES ($1, $2, $3, $4::jsonb, 'building', $5, $6::jsonb, 'exact') RETURNING id`,
    [input.collectionId, input.embeddingModel, input.dimensions, JSON.stringify(input.chunking), input.activateOnReady, JSON.stringify(input.identity)],
  );
  return r.rows[0]!.id;
}

/** Chunks of the collection (all documents whose chunks are visible) and the characters a rebuild embeds (context and text, see embedding-input.ts). */
export async function collectionChunkStats(db: Queryable, collectionId: string): Promise<{ chunks: number; chars: number }> {
  const r = await db.query<{ chunks: number; chars: string }>(
    `SELECT count(*)::int AS chunks, COALESCE(sum(length(text) + COALESCE(length(context) + 1, 0)), 0)::text AS chars
       FROM chunks WHERE collection_id = $1 AND index_version_id IS NULL`,
    [collectionId],
  );
  return { chunks: r.rows[0]!.chunks, chars: Number(r.rows[0]!.chars) };
}

/**
 * Switches the collection to a built version without the promotion gate (an admin's direct switch,
 * or a version an admin created with `activate: "on_ready"`), recorded as a forced promotion in the
 * same transaction (recordActivation): the audit log says the gate was skipped, and by whom.
 */
export function activateVersion(
  db: Db,
  collectionId: string,
  id: string,
  by: { actor: { team_id: string; key_id: string }; requestId: string | null; trigger: 'activate' | 'on_ready' },
): Promise<ActivationOutcome> {
  return db.transaction(async (tx) => {
    // Taken again inside activateIndexVersion (advisory locks nest): the version read here is the one it replaces.
    await lockCollectionForVersionChange(tx, collectionId);
    const before = await tx.query<{ current_index_version_id: string | null }>(`SELECT current_index_version_id FROM collections WHERE id = $1`, [collectionId]);
    const previous = before.rows[0]?.current_index_version_id ?? null;
    const outcome = await activateIndexVersion(tx, collectionId, id);
    if (outcome === 'activated' && previous !== id) {
      await recordActivation(tx, { collectionId, indexVersionId: id, previousIndexVersionId: previous, outcome: 'forced', trigger: by.trigger, actor: by.actor, requestId: by.requestId });
    }
    return outcome;
  });
}

export async function deleteVersion(db: Db, collectionId: string, id: string): Promise<'deleted' | 'current' | 'missing'> {
  if (!isUuid(id)) return 'missing';
  const outcome = await db.transaction(async (tx) => {
    await lockCollectionForVersionChange(tx, collectionId);
    const c = await tx.query<{ current_index_version_id: string | null }>(`SELECT current_index_version_id FROM collections WHERE id = $1 FOR NO KEY UPDATE`, [collectionId]);
    if (c.rows[0]?.current_index_version_id === id) return 'current';
    const d = await tx.query(`DELETE FROM index_versions WHERE id = $1 AND collection_id = $2 RETURNING id`, [id, collectionId]);
    return d.rows.length === 0 ? 'missing' : 'deleted';
  });
  if (outcome === 'deleted') await dropVersionGraphs(db, [id]);
  return outcome;
}
