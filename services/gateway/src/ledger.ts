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
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuidOrNull = (v: string | undefined) => (v && UUID.test(v) ? v : null);

/** Append-only record of every provider attempt (the table refuses updates and deletes). */
export class Ledger {
  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  async record(entry: LedgerEntry): Promise<void> {
    const a = entry.attribution;
    const u = entry.usage;
    try {
      await this.db.query(
        `INSERT INTO usage_ledger (trace_id, team_id, key_id, purpose, collection_id, query_id, document_id, capability,
           provider, model, route, attempt, stream, status, error_code, input_tokens, output_tokens, cached_input_tokens,
           cache_write_input_tokens, reasoning_tokens, search_units, usage_reported, cost_usd, latency_ms, first_token_ms,
           provider_request_id)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23::numeric,$24,$25,$26)`,
        [
          a.traceId,
          a.identity.team_id,
          a.identity.key_id,
          a.purpose,
          uuidOrNull(a.collectionId),
          uuidOrNull(a.queryId),
          uuidOrNull(a.documentId),
          entry.capability,
          entry.provider,
          entry.model,
          entry.route ?? null,
          entry.attempt,
          entry.stream,
          entry.status,
          entry.errorCode ?? null,
          u.inputTokens,
          u.outputTokens,
          u.cachedInputTokens,
          u.cacheWriteInputTokens,
          u.reasoningTokens,
          u.searchUnits,
          u.reported,
          entry.costUsd,
          Math.round(entry.latencyMs),
          entry.firstTokenMs == null ? null : Math.round(entry.firstTokenMs),
          entry.providerRequestId ?? null,
        ],
      );
    } catch (error) {
      // The call already happened; losing its cost silently would be worse than a loud log line.
      this.logger.error('ledger write failed', { trace_id: a.traceId, provider: entry.provider, model: entry.model, err: String(error) });
      throw error;
    }
  }
}
