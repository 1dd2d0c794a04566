import { isUuid, type SearchFilters } from '@quire/contracts';

/** Filters plus the caller's groups (set by the routes from the signed identity, never from the body). */
export type AccessFilters = SearchFilters & { accessGroups?: string[] };

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/**
 * Which chunk set a leg reads (migration 0008: `index_version_id` NULL is the collection's active
 * set; a set with an id belongs to that version only).
 * - absent or null: the active set, whichever version is current when the statement runs;
 * - `own`: that version's own set, for a version built with other chunking and measured by a
 *   benchmark before it is activated;
 * - `of`: the set the version's vectors point at. Activating a re-chunked version relabels the sets
 *   (the active one takes the outgoing version's id), so a query that loaded the collection before
 *   the switch would otherwise read the new chunks with the old version's vectors. Resolved inside
 *   the statement from one of the version's vectors, so the statement reads one version's chunks
 *   whichever side of the switch it runs on;
 * - `vectors`: no condition, because the statement already joins one version's vectors, and those
 *   point into that version's set only.
 */
export type ChunkSet = { own: string } | { of: string } | 'vectors' | null | undefined;

/**
 * The WHERE conditions every leg shares: the collection, its chunk set, documents that are ready, and
 * the caller's filters. Filters live inside the SQL (not applied afterwards) so a filtered search
 * still fills top_k. Expects `c` = chunks and `d` = documents; parameters are numbered from `firstParam`.
 */
export function scopeConditions(collectionId: string, filters: SearchFilters | undefined, firstParam: number, chunkSet?: ChunkSet): SqlFragment {
  const params: unknown[] = [collectionId];
  const conditions = [`c.collection_id = $${firstParam}`];
  if (chunkSet === 'vectors') {
    // The join to the version's vectors is the chunk-set condition.
  } else if (chunkSet && 'own' in chunkSet) {
    params.push(chunkSet.own);
    conditions.push(`c.index_version_id = $${firstParam + params.length - 1}::uuid`);
  } else if (chunkSet && 'of' in chunkSet) {
    params.push(chunkSet.of);
    const version = `$${firstParam + params.length - 1}::uuid`;
    conditions.push(`c.index_version_id IS NOT DISTINCT FROM (SELECT vc.index_version_id FROM chunk_vectors vv JOIN chunks vc ON vc.id = vv.chunk_id WHERE vv.index_version_id = ${version} LIMIT 1)`);
  } else {
    conditions.push(`c.index_version_id IS NULL`);
  }
  // Documents, not replacement rows: a swapped-in replacement stays `ready` as a pointer to its document.
  conditions.push(`d.status = 'ready' AND d.replaces_document_id IS NULL`);
  if (filters?.document_ids && filters.document_ids.length > 0) {
    params.push(filters.document_ids);
    conditions.push(`c.document_id = ANY($${firstParam + params.length - 1}::uuid[])`);
  }
  const ref = (value: unknown) => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  if (filters?.metadata && Object.keys(filters.metadata).length > 0) conditions.push(...metadataConditions(filters.metadata, ref));
  if (filters?.tags && filters.tags.length > 0) {
    conditions.push(`d.metadata->'tags' ?| ${ref(filters.tags)}::text[]`);
  }
  if (filters?.created_after) conditions.push(`d.created_at >= ${ref(filters.created_after)}::timestamptz`);
  if (filters?.created_before) conditions.push(`d.created_at < ${ref(filters.created_before)}::timestamptz`);
  const ops = { gte: '>=', gt: '>', lte: '<=', lt: '<' } as const;
  for (const [key, range] of Object.entries(filters?.metadata_dates ?? {})) {
    // ISO 8601 strings order as text; a document without the key never matches a range.
    for (const [op, sql] of Object.entries(ops)) {
      const bound = range[op as keyof typeof ops];
      if (bound !== undefined) conditions.push(`d.metadata->>${ref(key)} ${sql} ${ref(bound)}`);
    }
  }
  const groups = (filters as AccessFilters | undefined)?.accessGroups;
  if (groups) {
    // Document-level access: a document with groups is visible only to a caller holding one of them.
    params.push(groups);
    conditions.push(`(d.access_groups = '{}' OR d.access_groups && $${firstParam + params.length - 1}::text[])`);
  }
  return { sql: conditions.join('\n  AND '), params };
}

/**
 * `filters.metadata` as containment tests (`@>`, which a GIN index on `documents.metadata` could
 * serve). Containment alone gives "equals" for a scalar and "holds all of" for an array filter, but
 * a string filter must also match a document whose value is an array holding it (the contract:
 * `{"department": "hr"}` finds `{"department": ["hr", "legal"]}`), and jsonb containment does not let
 * an array inside an object contain a scalar: each string is tested in both shapes. Numbers, booleans,
 * null and arrays keep the single containment test.
 */
function metadataConditions(metadata: NonNullable<SearchFilters['metadata']>, ref: (value: unknown) => string): string[] {
  const conditions: string[] = [];
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value === 'string') {
      conditions.push(`(d.metadata @> ${ref(JSON.stringify({ [key]: value }))}::jsonb OR d.metadata @> ${ref(JSON.stringify({ [key]: [value] }))}::jsonb)`);
    } else {
      rest[key] = value;
    }
  }
  if (Object.keys(rest).length > 0) conditions.unshift(`d.metadata @> ${ref(JSON.stringify(rest))}::jsonb`);
  return conditions;
}

/**
 * A uuid as an SQL literal. Only for the index version id, which must be inlined (not a parameter)
 * for the planner to prove the partial HNSW index's predicate; validated, so nothing else gets in.
 */
export function uuidLiteral(value: string): string {
  if (!isUuid(value)) throw new Error(`not a uuid: ${value}`);
  return `'${value.toLowerCase()}'`;
}

/** Caller filters that may exclude most chunks; the access-group check and the status rarely do. */
export function hasSelectiveFilters(f: SearchFilters | undefined): boolean {
  return !!f && !!(f.document_ids?.length || (f.metadata && Object.keys(f.metadata).length) || f.tags?.length || f.created_after || f.created_before || (f.metadata_dates && Object.keys(f.metadata_dates).length));
}
