import type { Queryable } from '@quire/db';
import { ANALYZER_VERSION, analyzerTag, deletePostings, writePostings, type AnalyzerName } from '@quire/keyword-index';
import { lockCollectionForIndexWrite, lockCollectionForVersionChange } from './collection-locks.js';

/*
 * Rebuilding a collection's BM25 postings in the background when they were built with something other
 * than what search uses now: an older analyser (`ANALYZER_VERSION`) or another `search_settings.language`.
 * `keyword_index_state` (migration 0031) records, per collection, what its postings were last fully
 * built with; `bm25_chunks.analyzer` tags each chunk with what its own postings were written with.
 *
 * A rebuild is a series of short transactions, each a writer in the lock order of collection-locks.ts
 * (the collection shared, then a document row, then data rows): one document's stale chunks, at most
 * `maxChunks` of them, get their postings deleted and written again together, so a query (which reads
 * without locks) sees a chunk's old postings or its new ones, never both, and the statistics triggers
 * keep N, lengths and df exact at every commit. Only chunks whose tag is not the target's are picked,
 * so a batch is idempotent and a rebuild stopped anywhere resumes where it was. The last transaction
 * takes the collection's lock exclusive, which waits for the writers in flight (one may have read the
 * language before a change committed), checks that no stale chunk is left and marks the collection
 * current with the analyser it checked against.
 *
 * One process rebuilds a collection at a time: it holds a lease (`rebuild_owner`, `rebuild_lease_until`)
 * that each batch renews; another process takes the collection over once a lease runs out.
 */

/** The analyser search uses for a collection (as writers read it: collection-locks.ts), in SQL over `collections c`. */
const TARGET_LANGUAGE = `CASE WHEN c.search_settings->>'language' = 'simple' THEN 'simple' ELSE 'english' END`;

/** What a collection's keyword index was built with, and whether it is being (or waits to be) rebuilt. */
export interface KeywordIndexView {
  /** The analyser version the postings were last fully built with; null when not known (rebuilt). */
  analyzer_version: number | null;
  language: AnalyzerName | null;
  /** True until the postings match what search uses now (the current analyser and the collection's language). */
  rebuilding: boolean;
}

/**
 * SQL columns for `keywordIndexViewOf`, over `collections c` left-joined to `keyword_index_state k`
 * (`LEFT JOIN keyword_index_state k ON k.collection_id = c.id`).
 */
export const KEYWORD_INDEX_VIEW_COLUMNS = `k.analyzer_version AS keyword_analyzer_version, k.language AS keyword_language,
  (k.analyzer_version IS DISTINCT FROM ${ANALYZER_VERSION} OR k.language IS DISTINCT FROM ${TARGET_LANGUAGE}) AS keyword_rebuilding`;

export function keywordIndexViewOf(row: { keyword_analyzer_version: number | null; keyword_language: string | null; keyword_rebuilding: boolean }): KeywordIndexView {
  return {
    analyzer_version: row.keyword_analyzer_version === null ? null : Number(row.keyword_analyzer_version),
    language: row.keyword_language === 'simple' || row.keyword_language === 'english' ? row.keyword_language : null,
    rebuilding: row.keyword_rebuilding,
  };
}

/** Records a new collection's (empty) keyword index as current: call it in the transaction that inserts the collection. */
export async function recordKeywordIndexCurrent(tx: Queryable, collectionId: string, language: AnalyzerName): Promise<void> {
  await tx.query(
    `INSERT INTO keyword_index_state (collection_id, analyzer_version, language) VALUES ($1, $2, $3)
     ON CONFLICT (collection_id) DO UPDATE SET analyzer_version = EXCLUDED.analyzer_version, language = EXCLUDED.language, updated_at = now()`,
    [collectionId, ANALYZER_VERSION, language],
  );
}

/** Collections whose postings are not what search uses now (stale, or never recorded). */
export async function staleKeywordIndexes(db: Queryable): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `SELECT c.id FROM collections c LEFT JOIN keyword_index_state k ON k.collection_id = c.id
      WHERE k.analyzer_version IS DISTINCT FROM $1 OR k.language IS DISTINCT FROM ${TARGET_LANGUAGE}
      ORDER BY c.created_at`,
    [ANALYZER_VERSION],
  );
  return r.rows.map((row) => row.id);
}

/**
 * Takes (or renews) the collection's rebuild lease for `owner`: false when another process holds an
 * unexpired one, or the collection is gone or already current.
 */
export async function claimKeywordIndexRebuild(tx: Queryable, collectionId: string, owner: string, leaseMs: number): Promise<boolean> {
  const r = await tx.query(
    `INSERT INTO keyword_index_state AS k (collection_id, rebuild_owner, rebuild_lease_until)
     SELECT c.id, $2, now() + make_interval(secs => $3::float8 / 1000) FROM collections c
      WHERE c.id = $1 AND NOT EXISTS (SELECT 1 FROM keyword_index_state s WHERE s.collection_id = c.id
                                          AND s.analyzer_version IS NOT DISTINCT FROM $4 AND s.language IS NOT DISTINCT FROM ${TARGET_LANGUAGE})
     ON CONFLICT (collection_id) DO UPDATE SET rebuild_owner = EXCLUDED.rebuild_owner, rebuild_lease_until = EXCLUDED.rebuild_lease_until
      WHERE k.rebuild_owner IS NULL OR k.rebuild_owner = EXCLUDED.rebuild_owner OR k.rebuild_lease_until < now()
     RETURNING 1`,
    [collectionId, owner, leaseMs, ANALYZER_VERSION],
  );
  return r.rows.length > 0;
}

/** Gives the lease up (after a failure, or when stopping), so another process need not wait for it to run out. */
export async function releaseKeywordIndexRebuild(db: Queryable, collectionId: string, owner: string): Promise<void> {
  await db.query(`UPDATE keyword_index_state SET rebuild_owner = NULL, rebuild_lease_until = NULL WHERE collection_id = $1 AND rebuild_owner = $2`, [collectionId, owner]);
}

export type KeywordIndexBatch =
  /** Chunks rewritten (0 when the document went meanwhile); `documentId`: where the next batch starts. */
  | { rebuilt: number; documentId: string }
  /** No stale chunk in a document from `after` on: time to `finishKeywordIndexRebuild`. */
  | 'end'
  /** The lease is another process's now (it ran out), or the collection is gone: stop. */
  | 'lost';

/**
 * One batch: up to `maxChunks` stale chunks of the first document (by id, from `after` on) that has
 * any, their postings replaced in this transaction with the analyser the collection uses now.
 */
export async function rebuildKeywordIndexBatch(
  tx: Queryable,
  collectionId: string,
  options: { owner: string; leaseMs: number; maxChunks: number; after: string | null },
): Promise<KeywordIndexBatch> {
  // 1. The collection, shared with other writers; the analyser is read after the lock.
  const collection = await lockCollectionForIndexWrite(tx, collectionId);
  if (!collection) return 'lost';
  const tag = analyzerTag(collection.analyzer);
  const next = await tx.query<{ document_id: string }>(
    `SELECT ch.document_id FROM chunks ch LEFT JOIN bm25_chunks b ON b.chunk_id = ch.id
      WHERE ch.collection_id = $1 AND ch.index_version_id IS NULL AND ($2::uuid IS NULL OR ch.document_id >= $2::uuid)
        AND b.analyzer IS DISTINCT FROM $3
      ORDER BY ch.document_id LIMIT 1`,
    [collectionId, options.after, tag],
  );
  const documentId = next.rows[0]?.document_id;
  if (!documentId) return 'end';
  // 2. The document row: shared, so its chunks are neither deleted nor replaced (indexing and deletes
  // lock it for update) until this batch commits, and an indexing job's swap waits a batch at most.
  const doc = await tx.query(`SELECT 1 FROM documents WHERE id = $1 FOR SHARE`, [documentId]);
  // 4. Data rows: the lease first, renewed by every batch.
  const lease = await tx.query(
    `UPDATE keyword_index_state SET rebuild_lease_until = now() + make_interval(secs => $3::float8 / 1000) WHERE collection_id = $1 AND rebuild_owner = $2`,
    [collectionId, options.owner, options.leaseMs],
  );
  if ((lease.rowCount ?? 0) === 0) return 'lost';
  if (doc.rows.length === 0) return { rebuilt: 0, documentId };
  const chunks = await tx.query<{ id: string; text: string }>(
    `SELECT ch.id, ch.text FROM chunks ch LEFT JOIN bm25_chunks b ON b.chunk_id = ch.id
      WHERE ch.document_id = $1 AND ch.collection_id = $2 AND ch.index_version_id IS NULL AND b.analyzer IS DISTINCT FROM $3
      ORDER BY ch.id LIMIT $4`,
    [documentId, collectionId, tag, options.maxChunks],
  );
  const ids = chunks.rows.map((row) => row.id);
  // Per chunk, atomically: its old postings and length go, its new ones come, in this transaction.
  await deletePostings(tx, ids);
  await writePostings(tx, collectionId, chunks.rows.map((row) => ({ chunkId: row.id, text: row.text })), { analyzer: collection.analyzer });
  return { rebuilt: ids.length, documentId };
}

export type KeywordIndexFinish =
  /** Marked current (with the analyser and version its chunks were checked against). */
  | 'current'
  /** Stale chunks are left (the language changed meanwhile, or a writer raced): rebuild again from the start. */
  | 'stale'
  | 'lost';

/**
 * The end of a rebuild. The collection's lock exclusive waits for the writers in flight and holds new
 * ones off for one scan of its chunks' tags; then the collection is marked current and the lease freed.
 */
export async function finishKeywordIndexRebuild(tx: Queryable, collectionId: string, owner: string): Promise<KeywordIndexFinish> {
  await lockCollectionForVersionChange(tx, collectionId);
  const c = await tx.query<{ language: AnalyzerName }>(`SELECT ${TARGET_LANGUAGE} AS language FROM collections c WHERE c.id = $1`, [collectionId]);
  const language = c.rows[0]?.language;
  if (!language) return 'lost';
  const lease = await tx.query<{ rebuild_owner: string | null }>(`SELECT rebuild_owner FROM keyword_index_state WHERE collection_id = $1 FOR UPDATE`, [collectionId]);
  if (lease.rows[0]?.rebuild_owner !== owner) return 'lost';
  const stale = await tx.query(
    `SELECT 1 FROM chunks ch LEFT JOIN bm25_chunks b ON b.chunk_id = ch.id
      WHERE ch.collection_id = $1 AND ch.index_version_id IS NULL AND b.analyzer IS DISTINCT FROM $2 LIMIT 1`,
    [collectionId, analyzerTag(language)],
  );
  if (stale.rows.length > 0) return 'stale';
  await tx.query(
    `UPDATE keyword_index_state SET analyzer_version = $2, language = $3, rebuild_owner = NULL, rebuild_lease_until = NULL, updated_at = now() WHERE collection_id = $1`,
    [collectionId, ANALYZER_VERSION, language],
  );
  return 'current';
}
