import type { Queryable } from '@quire/db';
import type { LedgerEntry } from './ledger.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuidOrNull = (v: string | undefined) => (v && UUID.test(v) ? v : null);

const COLUMNS = `trace_id, team_id, key_id, purpose, collection_id, query_id, document_id, capability, provider, model, route,
  attempt, stream, status, error_code, input_tokens, output_tokens, cached_input_tokens, cache_write_input_tokens,
  reasoning_tokens, search_units, usage_reported, cost_usd, latency_ms, first_token_ms, provider_request_id, route_reason, fallback_from,
  idempotency_key`;
export const WIDTH = 29;
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

const COLUMN_NAMES = COLUMNS.split(',').map((c) => c.trim());
/**
 * Rows travel as one JSON parameter that the database unpacks with `json_populate_recordset`: in
 * PGlite this costs about 40% less per row than 29 bind parameters a row, and PostgreSQL takes the
 * same statement. Replayed journal rows that were already committed are skipped (idempotent replay).
 */
const INSERT_SQL = `INSERT INTO usage_ledger (${COLUMNS}) SELECT ${COLUMNS} FROM json_populate_recordset(NULL::usage_ledger, $1::json)
  ON CONFLICT (idempotency_key) DO NOTHING`;

function rowsJson(rows: RowValues[]): string {
  const objects = rows.map((row) => {
    const o: Record<string, unknown> = {};
    for (let c = 0; c < WIDTH; c++) o[COLUMN_NAMES[c]!] = row[c];
    return o;
  });
  return JSON.stringify(objects);
}

/** One INSERT of at most MAX_BATCH rows. */
export async function insertRows(db: Queryable, rows: RowValues[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(INSERT_SQL, [rowsJson(rows)]);
}
