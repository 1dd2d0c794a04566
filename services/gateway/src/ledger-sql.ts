import type { Queryable } from '@quire/db';
import type { LedgerEntry } from './ledger.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuidOrNull = (v: string | undefined) => (v && UUID.test(v) ? v : null);

const COLUMNS = `trace_id, team_id, key_id, purpose, collection_id, query_id, document_id, capability, provider, model, route,
  attempt, stream, status, error_code, input_tokens, output_tokens, cached_input_tokens, cache_write_input_tokens,
  reasoning_tokens, search_units, usage_reported, cost_usd, latency_ms, first_token_ms, provider_request_id, route_reason, fallback_from,
  idempotency_key`;

/** Rows per INSERT: a few hundred keeps each statement short on the single PGlite connection. */
export const MAX_BATCH = 500;

/** One ledger row as bind values, in COLUMNS order; also the journal's line format (JSON array). */
export type RowValues = unknown[];

export function rowValues(entry: LedgerEntry, idempotencyKey: string): RowValues {
  const a = entry.attribution;
  const u = entry.usage;
  return [
    a.traceId, a.identity.team_id, a.identity.key_id, a.purpose, uuidOrNull(a.collectionId), uuidOrNull(a.queryId), uuidOrNull(a.documentId),
    entry.capability, entry.provider, entry.model, entry.route ?? null, entry.attempt, entry.stream, entry.status, entry.errorCode ?? null,
    u.inputTokens, u.outputTokens, u.cachedInputTokens, u.cacheWriteInputTokens, u.reasoningTokens, u.searchUnits, u.reported,
    entry.costUsd, Math.round(entry.latencyMs), entry.firstTokenMs == null ? null : Math.round(entry.firstTokenMs),
    entry.providerRequestId ?? null, entry.routeReason ?? null, entry.fallbackFrom ?? null, idempotencyKey,
  ];
}

/** Each column's type, in COLUMNS order: the JSON text of a row's value is cast to it. */
const COLUMN_TYPES = [
  'text', 'text', 'text', 'text', 'uuid', 'uuid', 'uuid', 'text', 'text', 'text', 'text',
  'integer', 'boolean', 'text', 'text', 'integer', 'integer', 'integer', 'integer',
  'integer', 'integer', 'boolean', 'numeric', 'integer', 'integer', 'text', 'text', 'text',
  'text',
];
/**
 * A batch travels as one JSON parameter, an array of rows in the journal's own format (arrays in
 * COLUMNS order), which the database unpacks with `jsonb_array_elements`. In PGlite this costs about
 * 15-25% less per row than an array of objects through `json_populate_recordset` (itself ~40% less
 * than 29 bind parameters a row): no column names repeated in every row, and none to match. PostgreSQL
 * takes the same statement. Replayed journal rows that were already committed are skipped (idempotent replay).
 */
const INSERT_SQL = `INSERT INTO usage_ledger (${COLUMNS})
  SELECT ${COLUMN_TYPES.map((type, i) => `(r->>${i})::${type}`).join(', ')} FROM jsonb_array_elements($1::jsonb) AS r
  ON CONFLICT (idempotency_key) DO NOTHING`;

/** One INSERT of at most MAX_BATCH rows. */
export async function insertRows(db: Queryable, rows: RowValues[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(INSERT_SQL, [JSON.stringify(rows)]);
}
