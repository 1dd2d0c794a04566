import { ChunkingSchema, ReplacementCountsSchema, sameChunking, type Chunking, type Collection, type CreateCollectionBody, type ReplacementCounts, type UpdateCollectionBody } from '@quire/contracts';
import { readJsonb, type Db, type Queryable } from '@quire/db';
import { AppError } from '@quire/server-kit';
import { isoString, isUniqueViolation, isUuid, likeSubstring, toNullableNumber } from './sql-values.js';
import { decodeCursor, encodeCursor, filterKey } from './list-cursor.js';
import { latestReplacementsSql } from './replacements-repo.js';
import { dropVersionGraphs } from '../index/hnsw-index.js';
import { forgetUnusedEmbeddings } from '../embed/embedding-cache.js';
import { changedFields, KEYWORD_INDEX_VIEW_COLUMNS, keywordIndexViewOf, lockCollectionForVersionChange, recordCollectionChange, recordKeywordIndexCurrent, type CollectionActor } from '@quire/index-versions';
import { forgetCollectionQueries } from '@quire/stored-queries';
import { collectionReachSql, documentVisibleSql, viewerParams, type CollectionAccess, type Viewer } from './access-sql.js';

interface CollectionRow {
  id: string;
  name: string;
  description: string | null;
  embedding_model: string | null;
  embedding_dimensions: number | null;
  generation_model: string | null;
  rerank_model: string | null;
  chunking: unknown;
  created_at: unknown;
  queued: number;
  processing: number;
  ready: number;
  failed: number;
  replacement_counts: unknown;
  cursor_ts: string;
  keyword_analyzer_version: number | null;
  keyword_language: string | null;
  keyword_rebuilding: boolean;
}

/**
 * `visible` limits the documents counted (document-level access) to those of an alias the viewer may
 * see; see access-sql.ts. `document_counts`: documents, not replacement rows (pending, failed or
 * swapped in), the same rows `listDocuments` lists. `replacement_counts`: the documents whose latest
 * replacement is pending or failed, by its status, the same rows `replacement_status` lists.
 */
const selectCollection = (visible: (alias: string) => string = () => 'TRUE') => `
  SELECT c.id, c.name, c.description, c.embedding_model, c.embedding_dimensions, c.generation_model,
         c.rerank_model, c.chunking, c.created_at, c.created_at::text AS cursor_ts,
         (count(d.id) FILTER (WHERE d.status = 'queued'))::int AS queued,
         (count(d.id) FILTER (WHERE d.status = 'processing'))::int AS processing,
         (count(d.id) FILTER (WHERE d.status = 'ready'))::int AS ready,
         (count(d.id) FILTER (WHERE d.status = 'failed'))::int AS failed,
         (SELECT jsonb_build_object('queued', count(*) FILTER (WHERE lr.status = 'queued'), 'processing', count(*) FILTER (WHERE lr.status = 'processing'),
                                    'failed', count(*) FILTER (WHERE lr.status = 'failed'))
            FROM (${latestReplacementsSql('c.id', visible('r'))}) lr) AS replacement_counts,
         ${KEYWORD_INDEX_VIEW_COLUMNS}
    FROM collections c
    LEFT JOIN keyword_index_state k ON k.collection_id = c.id
    LEFT JOIN documents d ON d.collection_id = c.id AND d.replaces_document_id IS NULL AND ${visible('d')}`;

/** Built by `selectCollection`'s SQL in the same query (an aggregate: always one object), so a mismatch throws. */
function toReplacementCounts(value: unknown, collectionId: string): ReplacementCounts {
  return readJsonb(ReplacementCountsSchema.nullable(), value, `collections.replacement_counts (collection ${collectionId})`) ?? { queued: 0, processing: 0, failed: 0 };
}

function toView(row: CollectionRow): Collection {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    embedding_model: row.embedding_model,
    embedding_dimensions: toNullableNumber(row.embedding_dimensions),
    generation_model: row.generation_model,
    rerank_model: row.rerank_model,
    chunking: readJsonb(ChunkingSchema, row.chunking, `collections.chunking (collection ${row.id})`),
    document_counts: { queued: row.queued, processing: row.processing, ready: row.ready, failed: row.failed },
    replacement_counts: toReplacementCounts(row.replacement_counts, row.id),
    keyword_index: keywordIndexViewOf(row),
    created_at: isoString(row.created_at),
  };
}

/**
 * Creates the collection and its first index version together, so a collection is never without
 * one, and its audit row (`by`: who asked) in the same transaction.
 */
export async function createCollection(db: Db, teamId: string, body: CreateCollectionBody, by: CollectionActor): Promise<Collection> {
  const chunking = ChunkingSchema.parse(body.chunking ?? {});
  const settings = {
    name: body.name,
    description: body.description ?? null,
    embedding_model: body.embedding_model ?? null,
    embedding_dimensions: body.embedding_dimensions ?? null,
    generation_model: body.generation_model ?? null,
    rerank_model: body.rerank_model ?? null,
    chunking,
  };
  try {
    const id = await db.transaction(async (tx) => {
      const inserted = await tx.query<{ id: string }>(
        `INSERT INTO collections (team_id, name, description, embedding_model, embedding_dimensions, generation_model, rerank_model, chunking)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) RETURNING id`,
        [teamId, settings.name, settings.description, settings.embedding_model, settings.embedding_dimensions, settings.generation_model, settings.rerank_model, JSON.stringify(chunking)],
      );
      const collectionId = inserted.rows[0]!.id;
      const version = await tx.query<{ id: string }>(
        `INSERT INTO index_versions (collection_id, embedding_model, dimensions, requested_dimensions, chunking, status, activated_at, hnsw_state)
         VALUES ($1, $2, $3, $3, $4::jsonb, 'ready', now(), 'exact') RETURNING id`,
        [collectionId, settings.embedding_model, settings.embedding_dimensions, JSON.stringify(chunking)],
      );
      await tx.query(`UPDATE collections SET current_index_version_id = $2 WHERE id = $1`, [collectionId, version.rows[0]!.id]);
      // Empty, so built with the current analyser already (a new collection's language is the default).
      await recordKeywordIndexCurrent(tx, collectionId, 'english');
      await recordCollectionChange(tx, by, { action: 'collection.create', collectionId, ownerTeamId: teamId, before: null, after: settings, fields: Object.keys(settings) });
      return collectionId;
    });
    return (await getCollection(db, teamId, id))!;
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('conflict', `A collection named '${body.name}' already exists.`, { param: 'name' });
    throw error;
  }
}

/**
 * A collection by team id (the owning team only, every document counted) or by viewer: reachable
 * through `access` (own, or granted for read/write) and counting only the documents it may see.
 */
export async function getCollection(db: Queryable, who: string | Viewer, id: string, access: CollectionAccess = 'own'): Promise<Collection | null> {
  if (!isUuid(id)) return null;
  const r =
    typeof who === 'string'
      ? await db.query<CollectionRow>(`${selectCollection()} WHERE c.id = $1 AND c.team_id = $2 GROUP BY c.id, k.collection_id`, [id, who])
      : await db.query<CollectionRow>(`${selectCollection((alias) => documentVisibleSql(alias, 'c.team_id', '$2', '$3', '$4'))} WHERE c.id = $1 AND ${collectionReachSql('c', '$2', access)} GROUP BY c.id, k.collection_id`, [id, ...viewerParams(who)]);
  return r.rows[0] ? toView(r.rows[0]) : null;
}

export async function requireCollection(db: Queryable, who: string | Viewer, id: string, access: CollectionAccess = 'own'): Promise<Collection> {
  const found = await getCollection(db, who, id, access);
  if (!found) throw new AppError('collection_not_found', `No collection ${id}.`);
  return found;
}

/**
 * A page of the viewer's own collections and those granted to its team, with the counts it may see:
 * oldest first, keyed on (created_at, id) as document lists are (list-cursor.ts; a cursor is valid
 * with the `name` it was made for only). `name`: a case-insensitive substring of the collection's
 * name. The page's collections are chosen first, so only theirs are counted.
 */
export async function listCollections(db: Queryable, viewer: Viewer, page: { limit: number; cursor?: string | undefined; name?: string | undefined }): Promise<{ data: Collection[]; next_cursor: string | null }> {
  const key = filterKey({ name: page.name });
  const after = page.cursor === undefined ? null : decodeCursor(page.cursor, key);
  if (page.cursor !== undefined && !after) {
    throw new AppError('invalid_request', 'The cursor is not valid: pass the next_cursor of the previous page, with the same name.', { param: 'cursor' });
  }
  const params: unknown[] = [...viewerParams(viewer)];
  const ref = (value: unknown) => `$${params.push(value)}`;
  const conditions = [collectionReachSql('pc', '$1', 'read')];
  if (after) conditions.push(`(pc.created_at, pc.id) > (${ref(after[0])}::timestamptz, ${ref(after[1])}::uuid)`);
  if (page.name !== undefined) conditions.push(`pc.name ILIKE ${ref(likeSubstring(page.name))} ESCAPE '\\'`);
  const r = await db.query<CollectionRow>(
    `${selectCollection((alias) => documentVisibleSql(alias, 'c.team_id', '$1', '$2', '$3'))}
      WHERE c.id IN (SELECT pc.id FROM collections pc WHERE ${conditions.join(' AND ')} ORDER BY pc.created_at, pc.id LIMIT ${ref(page.limit + 1)})
      GROUP BY c.id, k.collection_id ORDER BY c.created_at, c.id`,
    params,
  );
  const rows = r.rows.slice(0, page.limit);
  const last = rows[rows.length - 1];
  return { data: rows.map(toView), next_cursor: r.rows.length > page.limit && last ? encodeCursor(last.cursor_ts, last.id, key) : null };
}

/** Columns a PATCH may set, in a fixed order: the SQL below names only these, never a caller's key. */
const UPDATABLE = ['name', 'description', 'generation_model', 'rerank_model'] as const satisfies readonly (keyof UpdateCollectionBody)[];

/**
 * Changes the settings that are read per request (retrieval loads the collection row on every
 * search and answer, so a change applies to the next one), with its audit row (the fields whose
 * value changed, before and after) in the same transaction. Only the owning team's collection: null
 * when `teamId` does not own `id` (or it is missing), as for a delete.
 */
export async function updateCollection(db: Db, teamId: string, id: string, patch: UpdateCollectionBody, by: CollectionActor): Promise<Collection | null> {
  if (!isUuid(id)) return null;
  const named = UPDATABLE.filter((column) => patch[column] !== undefined);
  const values: unknown[] = [id, teamId, ...named.map((column) => patch[column])];
  const sets = named.map((column, i) => `${column} = $${i + 3}`);
  try {
    const found = await db.transaction(async (tx) => {
      // Locked, so the "before" the audit row states is the one this update replaced. NO KEY UPDATE, as
      // the UPDATE below takes (no column it sets is a key: the name's unique index is on lower(name)):
      // it serialises writers of the row without holding off uploads' foreign-key checks (key share).
      const old = await tx.query<Record<(typeof UPDATABLE)[number], unknown>>(`SELECT ${UPDATABLE.join(', ')} FROM collections WHERE id = $1 AND team_id = $2 FOR NO KEY UPDATE`, [id, teamId]);
      const before = old.rows[0];
      if (!before) return false;
      await tx.query(`UPDATE collections SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 AND team_id = $2`, values);
      const pick = (from: Partial<Record<string, unknown>>, keys: readonly string[]) => Object.fromEntries(keys.map((key) => [key, from[key] ?? null]));
      const fields = changedFields(pick(before, named), pick(patch, named));
      await recordCollectionChange(tx, by, { action: 'collection.update', collectionId: id, ownerTeamId: teamId, before: pick(before, fields), after: pick(patch, fields), fields });
      return true;
    });
    if (!found) return null;
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('conflict', `A collection named '${patch.name}' already exists.`, { param: 'name' });
    throw error;
  }
  return getCollection(db, teamId, id);
}

/** The team that owns a collection; null for a missing collection or a malformed id. */
export async function collectionOwner(db: Queryable, collectionId: string): Promise<string | null> {
  if (!isUuid(collectionId)) return null;
  const r = await db.query<{ team_id: string }>(`SELECT team_id FROM collections WHERE id = $1`, [collectionId]);
  return r.rows[0]?.team_id ?? null;
}

/** The team that owns the collection a document is in; null for a missing document or a malformed id. */
export async function documentOwner(db: Queryable, documentId: string): Promise<string | null> {
  if (!isUuid(documentId)) return null;
  const r = await db.query<{ team_id: string }>(`SELECT c.team_id FROM documents d JOIN collections c ON c.id = d.collection_id WHERE d.id = $1`, [documentId]);
  return r.rows[0]?.team_id ?? null;
}

/**
 * Deletes the collection (documents, chunks and vectors go by cascade) and drops its per-version
 * HNSW indexes, which a cascade would leave behind empty. Its audit row (the settings it had, how
 * many documents went with it) commits with the delete.
 */
export async function deleteCollection(db: Db, teamId: string, id: string, by: CollectionActor): Promise<boolean> {
  if (!isUuid(id)) return false;
  const versionIds = await db.transaction(async (tx) => {
    // Locked first (collection-locks.ts): indexing writes in flight finish, and no version is created
    // between the list below and the delete, so no graph is left behind.
    await lockCollectionForVersionChange(tx, id);
    const locked = await tx.query<Record<string, unknown>>(
      `SELECT name, description, embedding_model, embedding_dimensions, generation_model, rerank_model, chunking,
              (SELECT count(*) FROM documents d WHERE d.collection_id = c.id AND d.replaces_document_id IS NULL)::int AS documents
         FROM collections c WHERE id = $1 AND team_id = $2 FOR UPDATE`,
      [id, teamId],
    );
    const row = locked.rows[0];
    if (!row) return null;
    const versions = await tx.query<{ id: string }>(`SELECT id FROM index_versions WHERE collection_id = $1`, [id]);
    // Before the delete, which takes the chunks and the documents' recorded uses that say what text
    // left: the cached vectors of it that no other chunk or live document of their team holds
    // (embed/embedding-cache.ts). Its documents are locked first (step 2 of collection-locks.ts; the
    // delete would lock them anyway), so an ingestion job still embedding one of them caches its
    // next vectors before this reads the cache, or finds the document gone and caches nothing.
    await tx.query(`SELECT id FROM documents WHERE collection_id = $1 ORDER BY id FOR UPDATE`, [id]);
    await forgetUnusedEmbeddings(tx, { collectionId: id });
    await tx.query(`DELETE FROM collections WHERE id = $1`, [id]);
    // Its stored queries and conversations quote its documents: they go with it (no foreign key can say so, see stored-queries.ts).
    await forgetCollectionQueries(tx, id);
    const { documents, ...settings } = row;
    await recordCollectionChange(tx, by, {
      action: 'collection.delete',
      collectionId: id,
      ownerTeamId: teamId,
      before: { ...settings, embedding_dimensions: toNullableNumber(settings.embedding_dimensions) },
      after: null,
      fields: Object.keys(settings),
      details: { documents: Number(documents), index_versions: versions.rows.length },
    });
    return versions.rows.map((v) => v.id);
  });
  if (versionIds === null) return false;
  await dropVersionGraphs(db, versionIds);
  return true;
}

/** What a job needs to know about the collection it indexes into. */
export interface IndexTarget {
  chunking: Chunking;
  requestedDimensions: number | null;
  indexVersionId: string;
  embeddingModel: string | null;
  dimensions: number | null;
}

export async function loadIndexTarget(db: Queryable, collectionId: string): Promise<IndexTarget | null> {
  const r = await db.query<{ chunking: unknown; embedding_dimensions: number | null; iv_id: string; embedding_model: string | null; dimensions: number | null }>(
    `SELECT c.chunking, c.embedding_dimensions, iv.id AS iv_id, iv.embedding_model, iv.dimensions
       FROM collections c JOIN index_versions iv ON iv.id = c.current_index_version_id
      WHERE c.id = $1`,
    [collectionId],
  );
  const row = r.rows[0];
  if (!row) return null;
  return {
    chunking: readJsonb(ChunkingSchema, row.chunking, `collections.chunking (collection ${collectionId})`),
    requestedDimensions: toNullableNumber(row.embedding_dimensions),
    indexVersionId: row.iv_id,
    embeddingModel: row.embedding_model,
    dimensions: toNullableNumber(row.dimensions),
  };
}

export interface BuildingVersion {
  id: string;
  embeddingModel: string | null;
  dimensions: number | null;
  requestedDimensions: number | null;
  /** `building`: its builder's rounds still pick up chunks that have no vector in it; `ready`: built, not active. */
  status: 'building' | 'ready';
}

/** Versions built or being built (not yet active) with the current chunking: new uploads feed them too. */
export async function loadBuildingVersions(db: Queryable, collectionId: string, chunking: Chunking): Promise<BuildingVersion[]> {
  const r = await db.query<{ id: string; embedding_model: string | null; dimensions: number | null; requested_dimensions: number | null; chunking: unknown; status: 'building' | 'ready' }>(
    `SELECT iv.id, iv.embedding_model, iv.dimensions, iv.requested_dimensions, iv.chunking, iv.status
       FROM index_versions iv JOIN collections c ON c.id = iv.collection_id
      WHERE iv.collection_id = $1 AND iv.id <> c.current_index_version_id
        AND iv.status IN ('building', 'ready') ORDER BY iv.created_at`,
    [collectionId],
  );
  return r.rows
    .filter((row) => !row.chunking || sameChunking(readJsonb(ChunkingSchema, row.chunking, `index_versions.chunking (${row.id})`), chunking))
    .map((row) => ({
      id: row.id,
      embeddingModel: row.embedding_model,
      dimensions: toNullableNumber(row.dimensions),
      requestedDimensions: toNullableNumber(row.requested_dimensions),
      status: row.status,
    }));
}
