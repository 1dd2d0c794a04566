import { lockCollectionForIndexWrite, lockVersionWrites } from '@quire/index-versions';
import type { Queryable } from '@quire/db';

/**
 * The lease one process holds while it builds an index version (migration 0013). Every change of
 * hands is a single UPDATE ... WHERE ... RETURNING, so two processes racing for a version cannot
 * both win: the second re-reads the row the first wrote and no longer matches.
 */

/** Thrown inside a build that finds its lease gone (taken over after it stalled, or the version left `building`). */
export class BuildLeaseLostError extends Error {
  override name = 'BuildLeaseLostError';
  readonly code = 'build_lease_lost';
}

const leaseFree = `(build_holder IS NULL OR build_holder = $2 OR build_lease_until IS NULL OR build_lease_until <= now())`;
const utc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

/**
 * Takes the lease of a version still `building` when nobody holds it, this holder already does, or
 * the holder's lease has run out. Taking it from another holder is a stall: it is counted and
 * explained on the version. Null when another holder's lease is live (or the build has ended).
 */
export async function acquireBuildLease(
  db: Queryable,
  versionId: string,
  holder: string,
  leaseMs: number,
): Promise<{ resumes: number; stallReason: string | null } | null> {
  // In SET, every column reference reads the row as it was before this UPDATE.
  const takeover = `build_holder IS NOT NULL AND build_holder <> $2`;
  const r = await db.query<{ build_resumes: number; build_stall_reason: string | null }>(
    `UPDATE index_versions
        SET build_resumes = build_resumes + CASE WHEN ${takeover} THEN 1 ELSE 0 END,
            build_stall_reason = CASE WHEN ${takeover}
              THEN 'Builder ' || build_holder || ' stopped making progress (lease expired '
                   || COALESCE(${utc('build_lease_until')}, 'unknown') || '); resumed by ' || $2 || ' at ' || ${utc('now()')} || '.'
              ELSE build_stall_reason END,
            build_holder = $2, build_lease_until = now() + ($3::int * interval '1 millisecond')
      WHERE id = $1 AND status = 'building' AND ${leaseFree}
      RETURNING build_resumes, build_stall_reason`,
    [versionId, holder, leaseMs],
  );
  const row = r.rows[0];
  return row ? { resumes: Number(row.build_resumes), stallReason: row.build_stall_reason } : null;
}

/** Extends the lease; false when this holder no longer has it (or the version is no longer building). */
export async function renewBuildLease(db: Queryable, versionId: string, holder: string, leaseMs: number): Promise<boolean> {
  const r = await db.query(
    `UPDATE index_versions SET build_lease_until = now() + ($3::int * interval '1 millisecond')
      WHERE id = $1 AND build_holder = $2 AND status = 'building' RETURNING id`,
    [versionId, holder, leaseMs],
  );
  return r.rows.length > 0;
}

/**
 * Inside a build's write transaction: locks the version row and throws unless this holder still
 * has it, so a holder that lost its lease cannot write over its successor's work.
 */
export async function assertBuildLease(tx: Queryable, versionId: string, holder: string): Promise<void> {
  const r = await tx.query(`SELECT 1 FROM index_versions WHERE id = $1 AND build_holder = $2 FOR UPDATE`, [versionId, holder]);
  if (r.rows.length === 0) throw new BuildLeaseLostError(`The lease on index version ${versionId} passed to another builder.`);
}

/**
 * The start of a build round's write transaction, in the lock order of @quire/index-versions
 * collection-locks.ts (the collection, the version's advisory lock, then its row, as an indexing job
 * takes them), ending with the lease check.
 */
export async function lockBuildRound(tx: Queryable, collectionId: string, versionId: string, holder: string): Promise<void> {
  // A deleted collection took the version with it: the build is over, as when the lease passed on.
  if (!(await lockCollectionForIndexWrite(tx, collectionId))) throw new BuildLeaseLostError(`Index version ${versionId} is gone with its collection.`);
  await lockVersionWrites(tx, versionId);
  await assertBuildLease(tx, versionId, holder);
}

/** Gives the lease up (the build ended or the process is stopping), so another process resumes without waiting. */
export async function releaseBuildLease(db: Queryable, versionId: string, holder: string): Promise<void> {
  await db.query(`UPDATE index_versions SET build_holder = NULL, build_lease_until = NULL WHERE id = $1 AND build_holder = $2`, [versionId, holder]);
}

/** Versions still `building` that nobody holds a live lease on: never started here, released, or stalled. */
export async function findUnheldBuilds(db: Queryable): Promise<{ id: string; collectionId: string }[]> {
  const r = await db.query<{ id: string; collection_id: string }>(
    `SELECT id, collection_id FROM index_versions
      WHERE status = 'building' AND (build_holder IS NULL OR build_lease_until IS NULL OR build_lease_until <= now())
      ORDER BY created_at`,
  );
  return r.rows.map((row) => ({ id: row.id, collectionId: row.collection_id }));
}
