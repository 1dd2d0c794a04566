import type { Estimate, PairedComparison } from './stats.js';

/** What a benchmark reports per configuration (the API's shape; the CLI and bench print it). */
export interface ConfigSummary {
  index: number;
  name: string;
  cases_done: number;
  errors: number;
  /** The commonest distinct error messages of this configuration's failed cases, with their counts. */
  error_messages?: { message: string; count: number }[];
  /** Cases the metrics, latency and cost are over: those every configuration of the run finished. */
  compared_cases?: number;
  /** Cases this configuration finished but another did not, so they are left out of its numbers. */
  excluded_cases?: number;
  /** Compared cases with nothing relevant (no judgment, or every grade 0): left out of the retrieval means. */
  unjudged_cases?: number;
  metrics: Record<string, Estimate>;
  /**
   * Plain means over every case this configuration finished, shared or not: progress while a run is
   * partial (before any case is shared, `metrics` is empty). Not comparable across configurations.
   */
  own_means?: { cases: number; metrics: Record<string, number> };
  /** Per stage (embed, vector, keyword, fuse, rerank, generate, total). */
  latency_ms: Record<string, { p50: number; p95: number }>;
  cost_usd: {
    /** Mean over questions of the query's ledger cost, judge calls excluded; null when any call was unpriced. */
    per_query: number | null;
    per_query_by_stage: Record<string, number | null>;
    judge_total: number | null;
    unpriced_calls: number;
  };
}

export interface ParetoPoint {
  name: string;
  quality: number;
  cost: number | null;
}

/** Points no other point beats on both axes (quality higher or equal, cost lower or equal, one strictly). */
export function paretoFrontier(points: readonly ParetoPoint[]): string[] {
  const usable = points.filter((p) => p.cost !== null && Number.isFinite(p.quality));
  return usable
    .filter((p) => !usable.some((q) => q !== p && q.quality >= p.quality && q.cost! <= p.cost! && (q.quality > p.quality || q.cost! < p.cost!)))
    .map((p) => p.name);
}

const f = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
export const formatEstimate = (e: Estimate | undefined, digits = 3): string => (e ? `${f(e.mean, digits)} [${f(e.lower, digits)}, ${f(e.upper, digits)}]` : '-');
export function formatUsd(x: number | null | undefined): string {
  if (x === null || x === undefined) return 'unpriced';
  return x === 0 ? '$0' : `$${x.toPrecision(3)}`;
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/**
 * The questions a configuration's figures are over: the cases every configuration finished
 * (`compared_cases`), not the ones it ran, which may include questions left out of the comparison.
 */
function comparedCases(s: ConfigSummary): number {
  return s.compared_cases ?? Math.max(0, ...Object.values(s.metrics).map((e) => e.n));
}

/** One row per configuration: each metric's mean [95 % CI], cost per query and latency. */
export function formatSummaryTable(summaries: readonly ConfigSummary[], metrics?: string[]): string {
  const keys = metrics ?? [...new Set(summaries.flatMap((s) => Object.keys(s.metrics)))];
  const header = ['configuration', 'n', ...keys, 'cost/query', 'p50 ms', 'p95 ms'];
  const rows = summaries.map((s) => [
    s.name,
    String(comparedCases(s)) + (s.errors ? ` (${s.errors} err)` : ''),
    ...keys.map((k) => formatEstimate(s.metrics[k])),
    formatUsd(s.cost_usd.per_query),
    f(s.latency_ms.total?.p50 ?? NaN, 1),
    f(s.latency_ms.total?.p95 ?? NaN, 1),
  ]);
  return table(header, rows);
}

/** Per-stage latency and cost per query. */
export function formatStageTable(summaries: readonly ConfigSummary[]): string {
  const stages = [...new Set(summaries.flatMap((s) => Object.keys(s.latency_ms)))].filter((k) => k !== 'total' && k !== 'search' && k !== 'retrieve');
  const costStages = [...new Set(summaries.flatMap((s) => Object.keys(s.cost_usd.per_query_by_stage)))];
  const header = ['configuration', ...stages.map((st) => `${st} p50/p95 ms`), ...costStages.map((st) => `${st} $/query`)];
  const rows = summaries.map((s) => [
    s.name,
    ...stages.map((st) => (s.latency_ms[st] ? `${f(s.latency_ms[st].p50, 1)} / ${f(s.latency_ms[st].p95, 1)}` : '-')),
    ...costStages.map((st) => (st in s.cost_usd.per_query_by_stage ? formatUsd(s.cost_usd.per_query_by_stage[st]) : '-')),
  ]);
  return table(header, rows);
}

/** a vs b per metric: means, difference with its CI, p-value, and a winner only when significant. */
export function formatComparison(nameA: string, nameB: string, comparisons: readonly PairedComparison[], skipped: readonly { metric: string; reason: string }[] = []): string {
  // Costs are tiny per query: three significant digits, not three decimals.
  const rows = comparisons.map((c) => {
    const g = c.metric === 'cost_usd' ? (x: number) => (x === 0 ? '0' : x.toPrecision(3)) : c.metric === 'latency_ms' ? (x: number) => f(x, 1) : (x: number) => f(x);
    return [
    c.metric,
    String(c.n),
    g(c.a),
    g(c.b),
    `${c.diff.mean >= 0 ? '+' : ''}${g(c.diff.mean)} [${g(c.diff.lower)}, ${g(c.diff.upper)}]`,
    c.p_value < 0.001 ? '<0.001' : f(c.p_value),
    c.winner === 'a' ? nameA : c.winner === 'b' ? nameB : 'no significant difference',
    ];
  });
  const out = table(['metric', 'n', nameA, nameB, `${nameB} − ${nameA} [95% CI]`, 'p', 'winner'], rows);
  return skipped.length ? `${out}\n\nNot compared: ${skipped.map((x) => `${x.metric} (${x.reason})`).join('; ')}` : out;
}

/** Quality against cost per query and against p50 latency, with the frontier marked. */
export function formatPareto(summaries: readonly ConfigSummary[], metric = 'ndcg@10'): string {
  const quality = (s: ConfigSummary) => s.metrics[metric]?.mean ?? NaN;
  const byCost = new Set(paretoFrontier(summaries.map((s) => ({ name: s.name, quality: quality(s), cost: s.cost_usd.per_query }))));
  const byLatency = new Set(paretoFrontier(summaries.map((s) => ({ name: s.name, quality: quality(s), cost: s.latency_ms.total?.p50 ?? null }))));
  const rows = summaries.map((s) => [s.name, f(quality(s)), formatUsd(s.cost_usd.per_query), f(s.latency_ms.total?.p50 ?? NaN, 1), byCost.has(s.name) ? 'yes' : '', byLatency.has(s.name) ? 'yes' : '']);
  return table(['configuration', metric, 'cost/query', 'p50 ms', 'frontier (cost)', 'frontier (latency)'], rows);
}
