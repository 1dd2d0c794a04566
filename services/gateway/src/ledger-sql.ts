import type { Queryable } from '@quire/db';
import type { LedgerEntry } from './ledger.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuidOrNull = (v: string | undefined) => (v && UUID.test(v) ? v : null);

const COLUMNS = `trace_id, team_id, key_id, purpose, collection_id, query_id, document_id, capability, provider, model, route,
  attempt, stream, status, error_code, input_tokens, output_tokens, cached_input_tokens, cache_write_input_tokens,
  reasoning_tokens, search_units, usage_reported, cost_usd, latency_ms, first_token_ms, provider_request_id, route_reason, fallback_from,
  idempotency_key`;
export const WIDTH = 29;
const COST_COLUMN = 23;
/** Rows per INSERT: well under PostgreSQL's 65535 bind parameters. */
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

const placeholderCache = new Map<number, string>();
function insertSql(rows: number): string {
  let sql = placeholderCache.get(rows);
  if (!sql) {
    const groups: string[] = [];
    for (let r = 0; r < rows; r++) {
      const cells: string[] = [];
      for (let c = 1; c <= WIDTH; c++) cells.push(c === COST_COLUMN ? `$${r * WIDTH + c}::numeric` : `$${r * WIDTH + c}`);
      groups.push(`(${cells.join(',')})`);
    }
    // A replayed journal row that was already committed is skipped, so replay is idempotent.
    sql = `INSERT INTO usage_ledger (${COLUMNS}) VALUES ${groups.join(',')} ON CONFLICT (idempotency_key) DO NOTHING`;
    if (placeholderCache.size < 64) placeholderCache.set(rows, sql);
  }
  return sql;
}

/** One multi-row INSERT (at most MAX_BATCH rows). */
export async function insertRows(db: Queryable, rows: RowValues[]): Promise<void> {
  if (rows.length === 0) return;
  const params: unknown[] = [];
  for (const row of rows) for (const v of row) params.push(v);
  await db.query(insertSql(rows.length), params);
}
