import { bootstrapCI, comparePaired, paretoFrontier, percentile, type ConfigSummary, type PairedComparison } from '@quire/eval';
import type { Queryable } from '@quire/db';
import { AppError } from '@quire/server-kit';
import { costByQueryAndStage, frozenCases, loadResults, spentUsd, type BenchmarkRow, type FrozenCases, type ResultRow } from './benchmark-repo.js';
import { staleCases, type StaleCase } from './eval-repo.js';

/** Every interval and test is seeded, so the same results always print the same numbers. */
export const REPORT_SEED = 42;
export const RESAMPLES = 1000;
const LOWER_IS_BETTER = new Set(['no_answer', 'cost_usd', 'latency_ms']);

export interface Loaded {
  rows: ResultRow[];
  costs: Map<string, Map<string, number | null>>;
}

async function load(db: Queryable, b: BenchmarkRow): Promise<Loaded> {
  const rows = await loadResults(db, b.id);
  const costs = new Map<string, Map<string, number | null>>();
  for (const c of await costByQueryAndStage(db, b.id)) {
    if (!costs.has(c.query_id)) costs.set(c.query_id, new Map());
    costs.get(c.query_id)!.set(c.purpose, c.cost);
  }
  return { rows, costs };
}

interface ReportData {
  data: Loaded;
  /** The cases whose relevant documents or chunks are gone from the collection; left out of every figure. */
  stale: StaleCase[];
  staleIds: Set<string>;
  /** The run's frozen cases: those still in the set, and the ids of those deleted from it since. */
  frozen: FrozenCases;
}

/** A benchmark's results and costs, with the stale set every report leaves out, over the run's frozen cases. */
async function loadReport(db: Queryable, b: BenchmarkRow): Promise<ReportData> {
  const data = await load(db, b);
  const frozen = await frozenCases(db, b.id);
  const stale = await staleCases(db, b.collection_id, frozen.cases);
  return { data, stale, staleIds: new Set(stale.map((c) => c.case_id)), frozen };
}

/** A query's cost without judge calls (what the configuration itself costs); null when unpriced. */
export function queryCost(costs: Loaded['costs'], queryId: string | null): number | null {
  if (!queryId) return null;
  let total = 0;
  for (const [purpose, cost] of costs.get(queryId) ?? []) {
    if (purpose === 'judge') continue;
    if (cost === null) return null;
    total += cost;
  }
  return total;
}

/**
 * The cases every configuration finished without error (stale cases left out). Averaging each
 * configuration over its own successes compares means over different questions: a configuration that
 * errors on the hard ones looks better than one that answers them.
 */
export function commonCaseIds(rows: readonly ResultRow[], configurations: number, stale: ReadonlySet<string> = new Set()): Set<string> {
  const okBy = new Map<string, Set<number>>();
  for (const r of rows) {
    if (r.status !== 'ok' || stale.has(r.case_id)) continue;
    if (!okBy.has(r.case_id)) okBy.set(r.case_id, new Set());
    okBy.get(r.case_id)!.add(r.config_index);
  }
  return new Set([...okBy].filter(([, configs]) => configs.size === configurations).map(([id]) => id));
}

/** Every retrieval-scored case has it (retrievalMetrics); a case without it had nothing relevant. */
const RETRIEVAL_MARKER = 'ndcg@10';
/** Distinct error messages shown per configuration. */
const ERROR_MESSAGES_SHOWN = 5;

/** The commonest distinct error messages of a configuration's failed cases, with their counts. */
export function commonestErrors(rows: readonly ResultRow[], shown = ERROR_MESSAGES_SHOWN): { message: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const r of rows) if (r.status === 'error') counts.set(r.error_message ?? 'unknown error', (counts.get(r.error_message ?? 'unknown error') ?? 0) + 1);
  return [...counts].map(([message, count]) => ({ message, count })).sort((x, y) => y.count - x.count || x.message.localeCompare(y.message)).slice(0, shown);
}

export function summarize(b: Pick<BenchmarkRow, 'configurations'>, index: number, data: Loaded, common: ReadonlySet<string>, stale: ReadonlySet<string> = new Set()): ConfigSummary {
  const rows = data.rows.filter((r) => r.config_index === index && !stale.has(r.case_id));
  const own = rows.filter((r) => r.status === 'ok');
  const ok = own.filter((r) => common.has(r.case_id));
  const metricKeys = [...new Set(ok.flatMap((r) => Object.keys(r.metrics)))];
  const metrics: ConfigSummary['metrics'] = {};
  for (const key of metricKeys) {
    const values = ok.map((r) => r.metrics[key]).filter((v): v is number => typeof v === 'number');
    if (values.length) metrics[key] = bootstrapCI(values, { seed: REPORT_SEED, resamples: RESAMPLES });
  }
  const latency: ConfigSummary['latency_ms'] = {};
  for (const stage of [...new Set(ok.flatMap((r) => Object.keys(r.timings_ms)))]) {
    const values = ok.map((r) => r.timings_ms[stage]).filter((v): v is number => typeof v === 'number');
    latency[stage] = { p50: percentile(values, 50), p95: percentile(values, 95) };
  }
  const stages = new Map<string, number | null>();
  let total: number | null = 0;
  let judge: number | null = 0;
  let unpriced = 0;
  for (const r of ok) {
    for (const [purpose, cost] of data.costs.get(r.query_id ?? '') ?? []) {
      if (cost === null) unpriced++;
      if (purpose === 'judge') {
        judge = judge === null || cost === null ? null : judge + cost;
        continue;
      }
      const prev = stages.has(purpose) ? stages.get(purpose)! : 0;
      stages.set(purpose, prev === null || cost === null ? null : prev + cost);
    }
    const c = queryCost(data.costs, r.query_id);
    total = total === null || c === null ? null : total + c;
  }
  const n = Math.max(1, ok.length);
  const ownMeans: Record<string, number> = {};
  for (const key of [...new Set(own.flatMap((r) => Object.keys(r.metrics)))]) {
    const values = own.map((r) => r.metrics[key]).filter((v): v is number => typeof v === 'number');
    if (values.length) ownMeans[key] = values.reduce((a, v) => a + v, 0) / values.length;
  }
  return {
    index,
    name: b.configurations[index]!.name,
    cases_done: rows.length,
    errors: rows.length - own.length,
    error_messages: commonestErrors(rows),
    compared_cases: ok.length,
    excluded_cases: own.length - ok.length,
    // Nothing relevant (no judgment, or all grade 0): no retrieval metric, as in trec_eval (see scoreRetrieval).
    unjudged_cases: ok.filter((r) => !(RETRIEVAL_MARKER in r.metrics)).length,
    metrics,
    own_means: { cases: own.length, metrics: ownMeans },
    latency_ms: latency,
    cost_usd: {
      per_query: total === null ? null : total / n,
      per_query_by_stage: Object.fromEntries([...stages].map(([k, v]) => [k, v === null ? null : v / n])),
      judge_total: judge,
      unpriced_calls: unpriced,
    },
  };
}

export async function benchmarkView(db: Queryable, b: BenchmarkRow) {
  const { data, stale, staleIds, frozen } = await loadReport(db, b);
  const casesFrozen = frozen.cases.length + frozen.deleted.length;
  const common = commonCaseIds(data.rows, b.configurations.length, staleIds);
  const summaries = b.configurations.map((_, i) => summarize(b, i, data, common, staleIds));
  const spend = await spentUsd(db, b.id);
  const quality = (s: ConfigSummary) => s.metrics['ndcg@10']?.mean ?? NaN;
  return {
    id: b.id,
    object: 'benchmark',
    eval_set_id: b.eval_set_id,
    collection_id: b.collection_id,
    status: b.status,
    error: b.error_message,
    configurations: b.configurations,
    judge_model: b.judge_model,
    budget_usd: b.budget_usd,
    spent_usd: spend.spent,
    // Over the cases frozen when the run was created: cases added to the set later are not the run's.
    progress: { cases_per_configuration: casesFrozen, total: casesFrozen * b.configurations.length, done: data.rows.length, per_configuration: summaries.map((s) => s.cases_done) },
    /** Every summary, and the Pareto frontier, is over these cases only: the ones each configuration finished. */
    comparison_basis: {
      cases: common.size,
      rule: 'means, intervals, latency and cost per query are over the cases every configuration finished without error; errors and excluded_cases say what each configuration lost; own_means are over each configuration\'s own finished cases (progress while a run is partial) and are not comparable',
    },
    stale_cases: { count: stale.length, case_ids: stale.slice(0, 100).map((c) => c.case_id), missing_ids: [...new Set(stale.flatMap((c) => c.missing))].slice(0, 100) },
    /** Cases of the run deleted from the eval set after it was created: not run (their results went with them). */
    deleted_cases: { count: frozen.deleted.length, case_ids: frozen.deleted.slice(0, 100) },
    summary: summaries,
    pareto: {
      metric: 'ndcg@10',
      vs_cost: paretoFrontier(summaries.map((s) => ({ name: s.name, quality: quality(s), cost: s.cost_usd.per_query }))),
      vs_latency: paretoFrontier(summaries.map((s) => ({ name: s.name, quality: quality(s), cost: s.latency_ms.total?.p50 ?? null }))),
    },
    created_at: b.created_at,
    finished_at: b.finished_at,
  };
}

export function configIndex(b: BenchmarkRow, ref: string, param: string): number {
  const byName = b.configurations.findIndex((c) => c.name === ref);
  if (byName >= 0) return byName;
  const n = Number(ref);
  if (Number.isInteger(n) && n >= 0 && n < b.configurations.length) return n;
  throw new AppError('invalid_request', `No configuration "${ref}" in benchmark ${b.id} (give a name or an index).`, { param });
}

export interface SkippedMetric {
  metric: string;
  reason: string;
}

/**
 * Paired comparison of two configurations over the cases both finished, stale cases left out as in
 * the summary (promotion reads this too): every metric, cost and latency. A metric that cannot be
 * paired (one side does not report it, e.g. a cut-off at one configuration's own top_k, or answer
 * metrics of a retrieval-only configuration) is listed in `skipped` with the reason, never dropped silently.
 */
export async function compareConfigurations(db: Queryable, b: BenchmarkRow, a: number, bIndex: number): Promise<{ a: string; b: string; comparisons: PairedComparison[]; skipped: SkippedMetric[]; stale_cases: number }> {
  const { data, staleIds: stale } = await loadReport(db, b);
  const nameA = b.configurations[a]!.name;
  const nameB = b.configurations[bIndex]!.name;
  const pairRows = data.rows.filter((r) => r.config_index === a || r.config_index === bIndex);
  const common = commonCaseIds(pairRows, new Set([a, bIndex]).size, stale);
  const rowsOf = (i: number) => new Map(pairRows.filter((r) => r.config_index === i && common.has(r.case_id) && r.status === 'ok').map((r) => [r.case_id, r]));
  const ra = rowsOf(a);
  const rb = rowsOf(bIndex);
  // In a's row order, as before: the seeded resampling pairs cases by position.
  const shared = [...ra.keys()];
  const keysOf = (rows: Map<string, ResultRow>) => new Set([...rows.values()].flatMap((r) => Object.keys(r.metrics).filter((k) => typeof r.metrics[k] === 'number')));
  const keysA = keysOf(ra);
  const keysB = keysOf(rb);
  const comparisons: PairedComparison[] = [];
  const skipped: SkippedMetric[] = [];
  const pair = (name: string, pick: (r: ResultRow) => number | null | undefined, whyNot: string) => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const id of shared) {
      const x = pick(ra.get(id)!);
      const y = pick(rb.get(id)!);
      if (typeof x === 'number' && typeof y === 'number') {
        xs.push(x);
        ys.push(y);
      }
    }
    if (xs.length) comparisons.push(comparePaired(name, xs, ys, { seed: REPORT_SEED, resamples: RESAMPLES, higherIsBetter: !LOWER_IS_BETTER.has(name) }));
    else skipped.push({ metric: name, reason: shared.length ? whyNot : 'the two configurations finished no question in common' });
  };
  for (const key of [...new Set([...keysA, ...keysB])]) {
    const side = !keysB.has(key) ? `a (${nameA})` : !keysA.has(key) ? `b (${nameB})` : null;
    const cutoff = /@\d+$/.test(key) ? ': a cut-off at that configuration\'s own top_k' : '';
    pair(key, (r) => r.metrics[key], side ? `only ${side} reports it${cutoff}` : 'no question has it on both sides');
  }
  pair('cost_usd', (r) => queryCost(data.costs, r.query_id), 'no question is priced on both sides (unpriced model calls)');
  pair('latency_ms', (r) => r.timings_ms.total, 'no question has a total latency on both sides');
  return { a: nameA, b: nameB, comparisons, skipped, stale_cases: stale.size };
}
