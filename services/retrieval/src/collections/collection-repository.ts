import type { Queryable } from '@quire/db';
import { AppError } from '@quire/server-kit';

export interface CollectionForQuery {
  id: string;
  name: string;
  generationModel: string | null;
  indexVersionId: string | null;
  /** The current index version's embedding model; null means keyword-only. */
  embeddingModel: string | null;
  dimensions: number | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Loads a collection of the caller's team. Another team's collection, a missing one and a malformed
 * id all answer the same 404, so ids reveal nothing across teams.
 */
export async function loadCollection(db: Queryable, teamId: string, collectionId: string): Promise<CollectionForQuery> {
  const notFound = new AppError('collection_not_found', `No collection ${collectionId}.`, { param: 'id' });
  if (!UUID.test(collectionId)) throw notFound;
  const result = await db.query<{
    id: string;
    name: string;
    generation_model: string | null;
    index_version_id: string | null;
    embedding_model: string | null;
    dimensions: number | null;
  }>(
    `SELECT c.id, c.name, c.generation_model, iv.id AS index_version_id, iv.embedding_model, iv.dimensions
FROM collections c
LEFT JOIN index_versions iv ON iv.id = c.current_index_version_id
WHERE c.id = $1 AND c.team_id = $2`,
    [collectionId, teamId],
  );
  const row = result.rows[0];
  if (!row) throw notFound;
  return {
    id: row.id,
    name: row.name,
    generationModel: row.generation_model,
    indexVersionId: row.index_version_id,
    embeddingModel: row.embedding_model,
    dimensions: row.dimensions === null ? null : Number(row.dimensions),
  };
}
