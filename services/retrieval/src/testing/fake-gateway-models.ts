import type { Queryable } from '@quire/db';
import { createFakeGatewayModels as createFake, type FakeGatewayModels, type FakeMeterRow } from '@quire/fakes';

export type { FakeGatewayModels } from '@quire/fakes';

/** Prices the fake gateway meters at; a model named `fake/unpriced` has no price (NULL cost). */
export const FAKE_COSTS = { 'query-embed': '0.000000100000', generate: '0.000000200000', rerank: '0.000000300000' } as const;

/** The identity token's claims, read without checking its signature (the fake trusts its callers). */
function teamOf(identityToken: string): { team_id: string; key_id: string } {
  const payload = identityToken.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { team_id: string; key_id: string };
}

/** Writes the `usage_ledger` row the real gateway would write for a call (its query_id included). */
async function writeLedgerRow(db: Queryable, { context, model, capability, stream }: FakeMeterRow): Promise<void> {
  const who = teamOf(context.identityToken);
  const cost = model === 'fake/unpriced' ? null : FAKE_COSTS[context.purpose as keyof typeof FAKE_COSTS] ?? null;
  await db.query(
    `INSERT INTO usage_ledger (trace_id, team_id, key_id, purpose, collection_id, query_id, capability, provider, model, stream, status,
  input_tokens, output_tokens, usage_reported, cost_usd, latency_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'fake', $8, $9, 'ok', 10, $10, true, $11::numeric, 1)`,
    [context.traceId, who.team_id, who.key_id, context.purpose, context.collectionId ?? null, context.queryId ?? null, capability, model, stream, capability === 'chat' ? 5 : 0, cost],
  );
}

/**
 * The shared fake gateway (`@quire/fakes`) as retrieval's tests use it: provider `fake`, and every
 * call metered into `db`'s usage_ledger as the real gateway would.
 */
export function createFakeGatewayModels(db: Queryable, dimensions: number): FakeGatewayModels {
  return createFake({ dimensions, provider: 'fake', maxEmbeddingsPerCall: 96, meter: (row) => writeLedgerRow(db, row) });
}
