import type { UsageSummary } from '@quire/contracts';
import type { Queryable } from '@quire/db';

/**
 * Sums the ledger rows of one query. Money is summed as SQL numeric and read as text, so the total
 * is exact; it becomes a JS number only in the response. A stage (or the total) with any unpriced
 * call costs null, never a silent zero.
 */
export async function usageForQuery(db: Queryable, queryId: string): Promise<UsageSummary> {
  const result = await db.query<{
    purpose: string | null;
    is_total: number;
    calls: number;
    input_tokens: number;
    output_tokens: number;
    unpriced: number;
    cost: string | null;
  }>(
    `SELECT purpose,
  GROUPING(purpose)::int AS is_total,
  count(*)::int AS calls,
  COALESCE(sum(input_tokens), 0)::int AS input_tokens,
  COALESCE(sum(output_tokens), 0)::int AS output_tokens,
  (count(*) FILTER (WHERE cost_usd IS NULL))::int AS unpriced,
  CASE WHEN count(*) FILTER (WHERE cost_usd IS NULL) > 0 THEN NULL ELSE COALESCE(sum(cost_usd), 0) END::text AS cost
FROM usage_ledger
WHERE query_id = $1
GROUP BY ROLLUP (purpose)`,
    [queryId],
  );
  const summary: UsageSummary = { cost_usd: 0, by_stage: {}, unpriced_calls: 0 };
  for (const row of result.rows) {
    const cost = row.cost === null ? null : Number(row.cost);
    if (Number(row.is_total) === 1) {
      summary.cost_usd = cost;
      summary.unpriced_calls = Number(row.unpriced);
    } else if (row.purpose !== null) {
      summary.by_stage[row.purpose] = { cost_usd: cost, calls: Number(row.calls), input_tokens: Number(row.input_tokens), output_tokens: Number(row.output_tokens) };
    }
  }
  return summary;
}
