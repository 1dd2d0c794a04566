import { isOrgAdmin, isUuid, SearchSettingsSchema, type Identity, type SearchSettings } from '@quire/contracts';
import { safeReadJsonb, type Db, type Queryable } from '@quire/db';
import { z } from 'zod';
import { changedFields, recordCollectionChange, type CollectionActor, type HnswState } from '@quire/index-versions';
import { AppError } from '@quire/server-kit';

export interface CollectionForQuery {
  id: string;
  name: string;
  generationModel: string | null;
  indexVersionId: string | null;
  /** The current index version's embedding model; null means keyword-only. */
  embeddingModel: string | null;
  dimensions: number | null;
  /** The shorter vector size the index version asked the model for (text-embedding-3 style), if any. */
  requestedDimensions?: number | null;
  /** How the version's HNSW graph is kept (`graph`: some vectors may still wait outside it). */
  hnswState?: HnswState;
  rerankModel?: string | null;
  /**
   * Set only when a benchmark or replay measures an index version built with other chunking: search
   * reads that version's own chunk set (its id here) instead of the active one. Absent for queries.
   */
  chunkSetVersionId?: string | null;
  /** `collections.search_settings`; a stored value that no longer parses counts as empty. */
  settings?: SearchSettings;
}

/** A collection as the repository loads it: with the team that owns it. */
export interface OwnedCollection extends CollectionForQuery {
  teamId: string;
}

interface Row {
  id: string;
  team_id: string;
  name: string;
  generation_model: string | null;
  rerank_model: string | null;
  search_settings: unknown;
  index_version_id: string | null;
  embedding_model: string | null;
  dimensions: number | null;
  requested_dimensions: number | null;
  hnsw_state: HnswState | null;
}

const SELECT = `SELECT c.id, c.team_id, c.name, c.generation_model, c.rerank_model, c.search_settings, iv.id AS index_version_id, iv.embedding_model, iv.dimensions, iv.requested_dimensions, iv.hnsw_state
FROM collections c
LEFT JOIN index_versions iv ON iv.id = c.current_index_version_id`;

/** `collections.search_settings` as stored (NULL reads as `{}`). */
const StoredSearchSettingsSchema = SearchSettingsSchema.nullable().transform((settings) => settings ?? {});
/** The stored settings as the audit row states them: any object, whatever fields it has. */
const StoredSettingsObjectSchema = z.record(z.string(), z.unknown()).nullable().transform((settings) => settings ?? {});

function toCollection(row: Row): OwnedCollection {
  // Settings are tuning, not data: ones that no longer parse count as empty rather than fail every query.
  const settings = safeReadJsonb(StoredSearchSettingsSchema, row.search_settings, `collections.search_settings (collection ${row.id})`);
  return {
    id: row.id,
    teamId: row.team_id,
    name: row.name,
    generationModel: row.generation_model,
    indexVersionId: row.index_version_id,
    embeddingModel: row.embedding_model,
    dimensions: row.dimensions === null ? null : Number(row.dimensions),
    requestedDimensions: row.requested_dimensions == null ? null : Number(row.requested_dimensions),
    ...(row.hnsw_state ? { hnswState: row.hnsw_state } : {}),
    rerankModel: row.rerank_model,
    settings: settings.success ? settings.data : {},
  };
}

/**
 * Which collections a team reaches: its own, plus (with `grants`) those another team granted it in
 * `collection_grants` (either access reads). Only the query paths pass `grants`; settings, eval sets
 * and promotions stay with the owning team, or (with `anyTeam`, see `ownerReach`) reach every
 * team's for an organisation admin. `$2` is the team.
 */
export interface Reach {
  grants?: boolean;
  anyTeam?: boolean;
}
// With `anyTeam`, `$2` stays referenced: a parameter no statement mentions has no type.
const teamScope = (reach: Reach | undefined) =>
  reach?.anyTeam ? `($2::text IS NOT NULL)` : reach?.grants ? `(c.team_id = $2 OR EXISTS (SELECT 1 FROM collection_grants g WHERE g.collection_id = c.id AND g.team_id = $2))` : 'c.team_id = $2';


/**
 * Reach on the owner-only paths (eval sets, benchmarks, promotion, quality, settings): the caller's
 * team, or every team for an organisation admin. Anyone else meets another team's rows as missing.
 */
export function ownerReach(identity: Pick<Identity, 'role'>): Reach {
  return isOrgAdmin(identity) ? { anyTeam: true } : {};
}

/** The 404 of a collection the caller may not reach: missing, another team's, or a malformed id. */
export const collectionNotFound = (id: string) => new AppError('collection_not_found', `No collection ${id}.`, { param: 'id' });

/**
 * Loads a collection the caller's team may query. Another team's (ungranted) collection, a missing
 * one and a malformed id all answer the same 404, so ids reveal nothing across teams.
 */
export async function loadCollection(db: Queryable, teamId: string, collectionId: string, reach?: Reach): Promise<OwnedCollection> {
  const notFound = collectionNotFound(collectionId);
  if (!isUuid(collectionId)) throw notFound;
  const result = await db.query<Row>(`${SELECT}\nWHERE c.id = $1 AND ${teamScope(reach)}`, [collectionId, teamId]);
  const row = result.rows[0];
  if (!row) throw notFound;
  return toCollection(row);
}

/** Several collections the caller may read, in the order asked; any missing one is a 404 naming it. */
export async function loadCollections(db: Queryable, teamId: string, collectionIds: string[], reach?: Reach): Promise<OwnedCollection[]> {
  const ids = [...new Set(collectionIds.map((id) => id.toLowerCase()))];
  const result = await db.query<Row>(`${SELECT}\nWHERE c.id = ANY($1::uuid[]) AND ${teamScope(reach)}`, [ids, teamId]);
  const byId = new Map(result.rows.map((r) => [r.id, toCollection(r)]));
  return ids.map((id) => {
    const found = byId.get(id);
    if (!found) throw new AppError('collection_not_found', `No collection ${id}.`, { param: 'collection_ids' });
    return found;
  });
}

/** A collection by id or by name (case-insensitive), for `kb/<collection id or name>` models; the team's own name wins. */
export async function findCollectionByIdOrName(db: Queryable, teamId: string, ref: string, reach?: Reach): Promise<OwnedCollection> {
  if (isUuid(ref)) return loadCollection(db, teamId, ref, reach);
  const result = await db.query<Row>(`${SELECT}\nWHERE lower(c.name) = lower($1) AND ${teamScope(reach)}\nORDER BY (c.team_id = $2) DESC, c.created_at LIMIT 1`, [ref, teamId]);
  const row = result.rows[0];
  if (!row) throw new AppError('collection_not_found', `No collection named "${ref}".`, { param: 'model' });
  return toCollection(row);
}

/** The analyser a stored `language` means, as writers read it (`english` unless `simple`). */
const analyzerOf = (language: unknown) => (language === 'simple' ? 'simple' : 'english');

/**
 * Replaces a collection's search settings, with its audit row (the settings whose value changed,
 * before and after) in the same transaction. `by`: the caller, as the audit row names it.
 * Answers the collection's id and whether its keyword analyser (`language`) changed: its postings are
 * then stale, and ingestion rebuilds them in the background (`keyword_index.rebuilding` meanwhile).
 */
export async function saveSearchSettings(db: Db, teamId: string, collectionId: string, settings: SearchSettings, reach: Reach | undefined, by: CollectionActor): Promise<{ collectionId: string; languageChanged: boolean }> {
  const collection = await loadCollection(db, teamId, collectionId, reach);
  return db.transaction(async (tx) => {
    // Locked, so the "before" the audit row states is the one this write replaced. NO KEY UPDATE, as
    // the UPDATE below takes (it changes no key): it serialises writers of the row but not the
    // key-share locks of uploads' and queries' foreign-key checks, which FOR UPDATE would hold off.
    const old = await tx.query<{ search_settings: unknown }>(`SELECT search_settings FROM collections WHERE id = $1 AND team_id = $2 FOR NO KEY UPDATE`, [collection.id, collection.teamId]);
    if (!old.rows[0]) throw new AppError('collection_not_found', `No collection ${collectionId}.`, { param: 'id' });
    // Falls back to `{}` rather than throw, so this PUT can still replace a stored value that is not an object.
    const stored = safeReadJsonb(StoredSettingsObjectSchema, old.rows[0].search_settings, `collections.search_settings (collection ${collection.id})`);
    const before: Record<string, unknown> = stored.success ? stored.data : {};
    await tx.query(`UPDATE collections SET search_settings = $3::jsonb, updated_at = now() WHERE id = $1 AND team_id = $2`, [collection.id, collection.teamId, JSON.stringify(settings)]);
    const fields = changedFields(before, settings);
    const pick = (from: Record<string, unknown>) => Object.fromEntries(fields.map((f) => [f, from[f] ?? null]));
    await recordCollectionChange(tx, by, { action: 'search_settings.put', collectionId: collection.id, ownerTeamId: collection.teamId, before: pick(before), after: pick(settings), fields });
    return { collectionId: collection.id, languageChanged: analyzerOf(before.language) !== analyzerOf(settings.language) };
  });
}
