import type { Queryable } from '@quire/db';
import type { PairedComparison } from '@quire/eval';
import { compareConfigurations } from './benchmark-report.js';
import { isUuid } from '@quire/contracts';
import { getBenchmark, listBenchmarks, loadResults, type BenchmarkRow } from './benchmark-repo.js';
import type { StoredConfiguration } from './eval-schemas.js';

/** The non-inferiority margin on nDCG@10 a promotion allows when its request names none. */
export const DEFAULT_MARGIN = 0.02;

export interface PromotionEvidence {
  benchmark_id: string;
  current: { index_version_id: string | null; configuration: string };
  candidate: { index_version_id: string; configuration: string };
  metric: 'ndcg@10';
  comparison: PairedComparison;
  margin: number;
  rule: string;
  allowed: boolean;
  /** Cases the candidate configuration errored on in the benchmark. */
  candidate_errors: number;
  /** Why promotion is refused; null when allowed. */
  reason: string | null;
}

/**
 * A candidate that errored on some cases is compared only on the ones it answered, which may be the
 * easy ones; its interval says nothing about the rest, so any error refuses promotion.
 */
export function promotionDecision(comparison: PairedComparison, margin: number, candidateErrors: number, benchmarkId?: string): { allowed: boolean; reason: string | null } {
  if (candidateErrors > 0) {
    const route = `POST /v1/benchmarks/${benchmarkId ?? ':id'}/resume`;
    return { allowed: false, reason: `the candidate configuration errored on ${candidateErrors} case(s); retry them with ${route} (only errored and missing cases run again; finished ones are kept), then promote again` };
  }
  if (comparison.diff.lower < -margin) return { allowed: false, reason: `the lower bound of the CI is below -${margin}` };
  return { allowed: true, reason: null };
}

export const PROMOTION_RULE = 'allowed when the lower bound of the 95% paired bootstrap CI of nDCG@10(new) - nDCG@10(current) is >= -margin (non-inferiority) and the candidate errored on no case, on a completed benchmark of one of the collection\'s eval sets that ran both index versions in two configurations that differ in nothing else (vector or hybrid mode)';

/** A configuration without its name and index version: what must match for a pair to isolate the version. */
function settingsOf(c: StoredConfiguration): string {
  const { name: _name, index_version_id: _asked, resolved_index_version_id: _resolved, ...settings } = c;
  // `generation_model: null` and leaving it out both mean no generation (unlike `rerank_model`, whose
  // null turns the collection's reranker off).
  if (settings.generation_model === null) delete settings.generation_model;
  // Sorted keys, absent and undefined alike: two configurations with the same settings give the same string.
  return JSON.stringify(settings, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([x], [y]) => x.localeCompare(y))) : value,
  );
}

/**
 * The pair of configurations that differ in the index version alone (same mode, fusion, top_k,
 * rerank, candidate pool, answers), or null. Any other difference would be measured as the index
 * version's: a top_k=5 current against a top_k=10 candidate is not evidence about the embedding.
 */
export function pickPair(b: Pick<BenchmarkRow, 'configurations'>, current: string | null, candidate: string): [number, number] | null {
  // Keyword search never reads vectors, so a keyword pair would compare a configuration with itself.
  const ranked = b.configurations.map((c, i) => ({ c, i })).filter(({ c }) => c.mode !== 'keyword');
  const cur = ranked.filter(({ c }) => c.resolved_index_version_id === current);
  const cand = ranked.filter(({ c }) => c.resolved_index_version_id === candidate);
  for (const a of cur) for (const n of cand) if (settingsOf(a.c) === settingsOf(n.c)) return [a.i, n.i];
  return null;
}

/**
 * The newest completed benchmark (or the one named) that ran the current and the candidate index
 * version, and what the rule says about it; null when there is no such evidence.
 */
export async function promotionEvidence(db: Queryable, input: { teamId: string; collectionId: string; current: string | null; candidate: string; margin: number; benchmarkId?: string }): Promise<PromotionEvidence | null> {
  const candidates = input.benchmarkId && isUuid(input.benchmarkId) ? [await getBenchmark(db, input.teamId, input.benchmarkId)] : await listBenchmarks(db, input.teamId, null);
  for (const b of candidates) {
    if (b.collection_id !== input.collectionId || b.status !== 'completed') continue;
    const pair = pickPair(b, input.current, input.candidate);
    if (!pair) continue;
    const { comparisons } = await compareConfigurations(db, b, pair[0], pair[1]);
    const comparison = comparisons.find((c) => c.metric === 'ndcg@10');
    if (!comparison) continue;
    const candidateErrors = (await loadResults(db, b.id)).filter((r) => r.config_index === pair[1] && r.status === 'error').length;
    const decision = promotionDecision(comparison, input.margin, candidateErrors, b.id);
    return {
      benchmark_id: b.id,
      current: { index_version_id: input.current, configuration: b.configurations[pair[0]]!.name },
      candidate: { index_version_id: input.candidate, configuration: b.configurations[pair[1]]!.name },
      metric: 'ndcg@10',
      comparison,
      margin: input.margin,
      rule: PROMOTION_RULE,
      allowed: decision.allowed,
      candidate_errors: candidateErrors,
      reason: decision.reason,
    };
  }
  return null;
}

/**
 * Online quality per UTC day (benchmark traffic excluded): volume, feedback, no-answer rate, cost per
 * query, latency, over the owning team's (`teamId`) own queries. Of the teams the collection is granted
 * to it gets only how many queries and answers they made (`other_teams`), as in the collection's query
 * stats (queries/query-stats.ts says why).
 */
export async function qualityByDay(db: Queryable, collectionId: string, teamId: string, from: string, to: string) {
  const r = await db.query<{ day: string; queries: number; answers: number; no_answer: number; with_feedback: number; up: number; down: number; p50: number | null; p95: number | null; cost: string | null; unpriced: number; other_queries: number; other_answers: number }>(
    `WITH q AS (
  SELECT id, kind, latency_ms, no_answer, team_id = $4 AS mine, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM queries
  WHERE (collection_id = $1 OR $1 = ANY(collection_ids)) AND created_at >= $2::timestamptz AND created_at < $3::timestamptz
    AND NOT EXISTS (SELECT 1 FROM benchmark_queries b WHERE b.query_id = queries.id)
), fb AS (
  SELECT f.query_id, bool_or(f.rating = 'up') AS up, bool_or(f.rating = 'down') AS down FROM query_feedback f JOIN q ON q.id = f.query_id AND q.mine GROUP BY f.query_id
), cost AS (
  SELECT l.query_id, sum(l.cost_usd) AS c, count(*) FILTER (WHERE l.cost_usd IS NULL) AS unpriced FROM usage_ledger l JOIN q ON q.id = l.query_id AND q.mine GROUP BY l.query_id
)
SELECT q.day, (count(*) FILTER (WHERE q.mine))::int AS queries, (count(*) FILTER (WHERE q.mine AND q.kind = 'answer'))::int AS answers,
  (count(*) FILTER (WHERE q.mine AND q.no_answer))::int AS no_answer,
  count(fb.query_id)::int AS with_feedback, (count(*) FILTER (WHERE fb.up))::int AS up, (count(*) FILTER (WHERE fb.down))::int AS down,
  (percentile_cont(0.5) WITHIN GROUP (ORDER BY q.latency_ms) FILTER (WHERE q.mine))::float8 AS p50,
  (percentile_cont(0.95) WITHIN GROUP (ORDER BY q.latency_ms) FILTER (WHERE q.mine))::float8 AS p95,
  COALESCE(sum(cost.c), 0)::text AS cost, COALESCE(sum(cost.unpriced), 0)::int AS unpriced,
  (count(*) FILTER (WHERE NOT q.mine))::int AS other_queries, (count(*) FILTER (WHERE NOT q.mine AND q.kind = 'answer'))::int AS other_answers
FROM q LEFT JOIN fb ON fb.query_id = q.id LEFT JOIN cost ON cost.query_id = q.id GROUP BY q.day ORDER BY q.day`,
    [collectionId, from, to, teamId],
  );
  return r.rows.map((d) => {
    const queries = Number(d.queries);
    const answers = Number(d.answers);
    const fbCount = Number(d.with_feedback);
    const priced = Number(d.unpriced) === 0;
    return {
      day: d.day,
      queries,
      answers,
      feedback_rate: queries ? fbCount / queries : null,
      thumbs_up_share: fbCount ? Number(d.up) / fbCount : null,
      feedback: { up: Number(d.up), down: Number(d.down) },
      no_answer_rate: answers ? Number(d.no_answer) / answers : null,
      cost_per_query_usd: priced && queries ? Number(d.cost) / queries : null,
      unpriced_calls: Number(d.unpriced),
      latency_ms: { p50: d.p50 === null ? null : Number(d.p50), p95: d.p95 === null ? null : Number(d.p95) },
      other_teams: { queries: Number(d.other_queries), answers: Number(d.other_answers) },
    };
  });
}
