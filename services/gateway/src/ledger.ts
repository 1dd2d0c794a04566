import type { Identity, Purpose } from '@quire/contracts';
import type { Db } from '@quire/db';
import type { UsageV1 } from '@quire/models';
import type { Logger } from '@quire/server-kit';

/** Who a model call is for and why: every ledger row carries it. */
export interface Attribution {
  traceId: string;
  identity: Identity;
  purpose: Purpose;
  collectionId?: string | undefined;
  queryId?: string | undefined;
  documentId?: string | undefined;
}

export interface LedgerEntry {
  attribution: Attribution;
  capability: 'chat' | 'embedding' | 'rerank';
  provider: string;
  model: string;
  route?: string;
  attempt: number;
  stream: boolean;
  status: 'ok' | 'error' | 'aborted';
  errorCode?: string;
  usage: UsageV1;
  costUsd: string | null;
  latencyMs: number;
  firstTokenMs?: number;
  providerRequestId?: string;
  /** Why this target was tried: the strategy's choice, budget and latency decisions, skipped targets. */
  routeReason?: string;
  /** The target this attempt fell back from, when an earlier target failed. */
  fallbackFrom?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuidOrNull = (v: string | undefined) => (v && UUID.test(v) ? v : null);

const COLUMNS = `trace_id, team_id, key_id, purpose, collection_id, query_id, document_id, capability, provider, model, route,
  attempt, stream, status, error_code, input_tokens, output_tokens, cached_input_tokens, cache_write_input_tokens,
  reasoning_tokens, search_units, usage_reported, cost_usd, latency_ms, first_token_ms, provider_request_id, route_reason, fallback_from`;
const WIDTH = 28;
/** Rows per INSERT: well under PostgreSQL's 65535 bind parameters. */
const MAX_BATCH = 500;

function rowValues(entry: LedgerEntry): unknown[] {
  const a = entry.attribution;
  const u = entry.usage;
  return [
    a.traceId, a.identity.team_id, a.identity.key_id, a.purpose, uuidOrNull(a.collectionId), uuidOrNull(a.queryId), uuidOrNull(a.documentId),
    entry.capability, entry.provider, entry.model, entry.route ?? null, entry.attempt, entry.stream, entry.status, entry.errorCode ?? null,
    u.inputTokens, u.outputTokens, u.cachedInputTokens, u.cacheWriteInputTokens, u.reasoningTokens, u.searchUnits, u.reported,
    entry.costUsd, Math.round(entry.latencyMs), entry.firstTokenMs == null ? null : Math.round(entry.firstTokenMs),
    entry.providerRequestId ?? null, entry.routeReason ?? null, entry.fallbackFrom ?? null,
  ];
}

const placeholderCache = new Map<number, string>();
function placeholders(rows: number): string {
  let sql = placeholderCache.get(rows);
  if (!sql) {
    const groups: string[] = [];
    for (let r = 0; r < rows; r++) {
      const cells: string[] = [];
      for (let c = 1; c <= WIDTH; c++) cells.push(c === 23 ? `$${r * WIDTH + c}::numeric` : `$${r * WIDTH + c}`);
      groups.push(`(${cells.join(',')})`);
    }
    sql = `INSERT INTO usage_ledger (${COLUMNS}) VALUES ${groups.join(',')}`;
    if (placeholderCache.size < 64) placeholderCache.set(rows, sql);
  }
  return sql;
}

interface Pending {
  entry: LedgerEntry;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Append-only record of every provider attempt (the table refuses updates and deletes).
 *
 * Writes are group-committed: `record()` resolves only once its row is committed (a response is
 * never sent for an attempt whose cost is not stored), but while one INSERT is in flight the rows
 * that arrive meanwhile queue up and go together in the next multi-row INSERT. An idle gateway
 * writes at once; a busy one writes fewer, larger statements.
 */
export class Ledger {
  private queue: Pending[] = [];
  private flushing = false;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  record(entry: LedgerEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Let the rows of responses that completed in this same turn of the event loop join the batch.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.length <= MAX_BATCH ? this.queue : this.queue.slice(0, MAX_BATCH);
        this.queue = this.queue.length <= MAX_BATCH ? [] : this.queue.slice(MAX_BATCH);
        const params: unknown[] = [];
        for (const p of batch) for (const v of rowValues(p.entry)) params.push(v);
        try {
          await this.db.query(placeholders(batch.length), params);
          for (const p of batch) p.resolve();
        } catch (error) {
          if (batch.length > 1) {
            // One bad row must not lose the others: write them one by one to find it.
            for (const p of batch) await this.db.query(placeholders(1), rowValues(p.entry)).then(p.resolve, (e: unknown) => this.fail(p, e));
          } else {
            this.fail(batch[0]!, error);
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private fail(p: Pending, error: unknown): void {
    const e = p.entry;
    // The call already happened; losing its cost silently would be worse than a loud log line.
    this.logger.error('ledger write failed', { trace_id: e.attribution.traceId, provider: e.provider, model: e.model, err: String(error) });
    p.reject(error);
  }
}
