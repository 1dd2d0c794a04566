import type { SearchFilters } from '@quire/contracts';

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/**
 * The WHERE conditions every leg shares: the collection, documents that are ready, and the caller's
 * filters. Filters live inside the SQL (not applied afterwards) so a filtered search still fills
 * top_k. Expects `c` = chunks and `d` = documents; parameters are numbered from `firstParam`.
 */
export function scopeConditions(collectionId: string, filters: SearchFilters | undefined, firstParam: number): SqlFragment {
  const params: unknown[] = [collectionId];
  const conditions = [`c.collection_id = $${firstParam}`, `d.status = 'ready'`];
  if (filters?.document_ids && filters.document_ids.length > 0) {
    params.push(filters.document_ids);
    conditions.push(`c.document_id = ANY($${firstParam + params.length - 1}::uuid[])`);
  }
  if (filters?.metadata && Object.keys(filters.metadata).length > 0) {
    // jsonb containment gives "equals" for scalars and "contains" for arrays in one operator.
    params.push(JSON.stringify(filters.metadata));
    conditions.push(`d.metadata @> $${firstParam + params.length - 1}::jsonb`);
  }
  return { sql: conditions.join('\n  AND '), params };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A uuid as an SQL literal. Only for the index version id, which must be inlined (not a parameter)
 * for the planner to prove the partial HNSW index's predicate; validated, so nothing else gets in.
 */
export function uuidLiteral(value: string): string {
  if (!UUID.test(value)) throw new Error(`not a uuid: ${value}`);
  return `'${value.toLowerCase()}'`;
}
