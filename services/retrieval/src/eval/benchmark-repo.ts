import { IdentitySchema, isUuid, type Identity } from '@quire/contracts';
import { readJsonb, type Db, type Queryable } from '@quire/db';
import { z } from 'zod';
import { AppError } from '@quire/server-kit';
import type { Reach } from '../collections/collection-repository.js';
import { readRelevant, type EvalCase } from './eval-repo.js';
import { StoredConfigurationSchema, type StoredConfiguration } from './eval-schemas.js';
import { createdBefore, createdMicros, pageOf } from './page.js';

export type BenchmarkStatus = 'queued' | 'running' | 'completed' | 'stopped_budget' | 'failed' | 'cancelled';

export interface BenchmarkRow {
  id: string;
  team_id: string;
  eval_set_id: string;
  collection_id: string;
  status: BenchmarkStatus;
  configurations: StoredConfiguration[];
  judge_model: string | null;
  budget_usd: number | null;
  identity: Identity;
  cases_total: number;
  error_message: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

const ts = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLUMNS = `id, team_id, eval_set_id, collection_id, status, configurations, judge_model, budget_usd::text AS budget_usd, identity, cases_total, error_message,
  ${ts('created_at')} AS created_at, ${ts('updated_at')} AS updated_at, ${ts('finished_at')} AS finished_at`;
const SELECT = `SELECT ${COLUMNS} FROM benchmarks`;

const StoredConfigurationsSchema = z.array(StoredConfigurationSchema);

function toRow(r: Record<string, unknown>): BenchmarkRow {
  return {
    ...(r as unknown as BenchmarkRow),
    configurations: readJsonb(StoredConfigurationsSchema, r.configurations, `benchmarks.configurations (benchmark ${String(r.id)})`),
    identity: readJsonb(IdentitySchema, r.identity, `benchmarks.identity (benchmark ${String(r.id)})`),
    budget_usd: r.budget_usd === null ? null : Number(r.budget_usd),
    cases_total: Number(r.cases_total),
  };
}

/**
 * Creates a run and freezes the cases it measures: the eval set's cases now, in ordinal order. One
 * statement, so `cases_total` and the frozen list come from the same snapshot.
 */
export async function insertBenchmark(db: Queryable, b: { teamId: string; evalSetId: string; collectionId: string; configurations: StoredConfiguration[]; judgeModel: string | null; budgetUsd: number | null; identity: Identity }): Promise<string> {
  const r = await db.query<{ id: string }>(
    `WITH run AS (
  INSERT INTO benchmarks (team_id, eval_set_id, collection_id, configurations, judge_model, budget_usd, identity, cases_total)
  VALUES ($1, $2, $3, $4::jsonb, $5, $6::numeric, $7::jsonb, (SELECT count(*) FROM eval_cases WHERE eval_set_id = $2)) RETURNING id
), frozen AS (
  INSERT INTO benchmark_cases (benchmark_id, position, case_id)
  SELECT run.id, row_number() OVER (ORDER BY c.ordinal, c.id), c.id FROM run, eval_cases c WHERE c.eval_set_id = $2
)
SELECT id FROM run`,
    [b.teamId, b.evalSetId, b.collectionId, JSON.stringify(b.configurations), b.judgeModel, b.budgetUsd === null ? null : String(b.budgetUsd), JSON.stringify(b.identity)],
  );
  return r.rows[0]!.id;
}

export interface FrozenCases {
  /** The run's cases still in the set, in the run's order. */
  cases: EvalCase[];
  /** Frozen case ids no longer in the set (deleted after the run was created). */
  deleted: string[];
}

/** The cases a run measures (frozen at creation), whatever was added to or removed from its set since. */
export async function frozenCases(db: Queryable, benchmarkId: string): Promise<FrozenCases> {
  const r = await db.query<{ case_id: string; id: string | null } & Omit<EvalCase, 'id'>>(
    `SELECT f.case_id, c.id, c.ordinal, c.external_id, c.question, c.relevant, c.reference_answer, c.synthetic, c.source_query_id
FROM benchmark_cases f LEFT JOIN eval_cases c ON c.id = f.case_id WHERE f.benchmark_id = $1 ORDER BY f.position`,
    [benchmarkId],
  );
  const cases: EvalCase[] = [];
  const deleted: string[] = [];
  for (const row of r.rows) {
    if (row.id === null) deleted.push(row.case_id);
    else cases.push({ id: row.id, ordinal: Number(row.ordinal), external_id: row.external_id, question: row.question, relevant: readRelevant(row.relevant, row.id), reference_answer: row.reference_answer, synthetic: row.synthetic, source_query_id: row.source_query_id });
  }
  return { cases, deleted };
}

/** The 404 of a run the caller may not reach (missing, another team's, or a malformed id). */
export const benchmarkNotFound = (id: string) => new AppError('not_found', `No benchmark ${id}.`, { param: 'id' });

/** A run of the caller's team (any team's with `anyTeam`: an organisation admin); otherwise 404. */
export async function getBenchmark(db: Queryable, teamId: string, id: string, reach: Reach = {}): Promise<BenchmarkRow> {
  const notFound = benchmarkNotFound(id);
  if (!isUuid(id)) throw notFound;
  const r = await db.query<Record<string, unknown>>(`${SELECT} WHERE id = $1 AND (team_id = $2 OR $3::boolean)`, [id, teamId, reach.anyTeam === true]);
  if (!r.rows[0]) throw notFound;
  return toRow(r.rows[0]);
}

export async function listBenchmarks(db: Queryable, teamId: string, evalSetId: string | null, reach: Reach = {}): Promise<BenchmarkRow[]> {
  const r = await db.query<Record<string, unknown>>(`${SELECT} WHERE (team_id = $1 OR $3::boolean) AND ($2::uuid IS NULL OR eval_set_id = $2::uuid) ORDER BY created_at DESC LIMIT 100`, [
    teamId,
    evalSetId,
    reach.anyTeam === true,
  ]);
  return r.rows.map(toRow);
}

/** One page of runs, newest first; `after` is the previous page's last (created micros, id). */
export async function pageBenchmarks(db: Queryable, input: { teamId: string; evalSetId: string | null; reach: Reach; after: readonly [string, string] | null; limit: number }): Promise<{ data: BenchmarkRow[]; next_cursor: string | null }> {
  const r = await db.query<Record<string, unknown> & { created_us: string }>(
    `SELECT ${COLUMNS}, ${createdMicros('b')} FROM benchmarks b
WHERE (b.team_id = $1 OR $3::boolean) AND ($2::uuid IS NULL OR b.eval_set_id = $2::uuid) AND ${createdBefore('b', 4)}
ORDER BY b.created_at DESC, b.id DESC LIMIT $6`,
    [input.teamId, input.evalSetId, input.reach.anyTeam === true, input.after?.[0] ?? null, input.after?.[1] ?? null, input.limit + 1],
  );
  const page = pageOf(r.rows, input.limit, (row) => [row.created_us, String(row.id)]);
  return { data: page.data.map(toRow), next_cursor: page.next_cursor };
}

/** Runs that are not final: queued, or running when a process stopped mid-run (oldest first). */
export async function unfinishedBenchmarkIds(db: Queryable): Promise<string[]> {
  const r = await db.query<{ id: string }>(`SELECT id FROM benchmarks WHERE status IN ('queued', 'running') ORDER BY created_at`);
  return r.rows.map((row) => row.id);
}

/** A run by id, whatever its team (the runner's view; the API scopes by team). */
export async function findBenchmark(db: Queryable, id: string): Promise<BenchmarkRow | null> {
  const r = await db.query<Record<string, unknown>>(`${SELECT} WHERE id = $1`, [id]);
  return r.rows[0] ? toRow(r.rows[0]) : null;
}

/**
 * Sets a run's status. With `holder`, only while that worker holds the run: a worker that lost it
 * (its lease lapsed and another took over) must not overwrite the status the other one sets.
 * A final status releases the run.
 */
export async function setStatus(db: Queryable, id: string, status: BenchmarkStatus, error: string | null = null, holder: string | null = null): Promise<void> {
  const final = status !== 'queued' && status !== 'running';
  await db.query(
    `UPDATE benchmarks SET status = $2, error_message = COALESCE($3, error_message), updated_at = now(), finished_at = CASE WHEN $4 THEN now() ELSE NULL END,
            runner = CASE WHEN $4 THEN NULL ELSE runner END, runner_lease_until = CASE WHEN $4 THEN NULL ELSE runner_lease_until END
      WHERE id = $1 AND ($5::text IS NULL OR runner = $5)`,
    [id, status, error, final, holder],
  );
}

/**
 * Takes an unfinished run for `holder`, or renews its hold: false while another worker holds a live
 * lease on it, and when it is final. Taking it marks it running.
 */
export async function claimRun(db: Queryable, id: string, holder: string, leaseMs: number): Promise<boolean> {
  const r = await db.query(
    `UPDATE benchmarks SET runner = $2, runner_lease_until = now() + $3::int * interval '1 millisecond', status = 'running', finished_at = NULL, updated_at = now()
      WHERE id = $1 AND status IN ('queued', 'running') AND (runner IS NULL OR runner = $2 OR runner_lease_until < now())
      RETURNING id`,
    [id, holder, Math.ceil(leaseMs)],
  );
  return r.rows.length > 0;
}

/** Extends `holder`'s lease; false when it no longer holds the run (lapsed and taken over, or final). */
export async function renewRun(db: Queryable, id: string, holder: string, leaseMs: number): Promise<boolean> {
  const r = await db.query(
    `UPDATE benchmarks SET runner_lease_until = now() + $3::int * interval '1 millisecond' WHERE id = $1 AND runner = $2 AND status = 'running' RETURNING id`,
    [id, holder, Math.ceil(leaseMs)],
  );
  return r.rows.length > 0;
}

/** Gives the run up without finishing it (the worker is stopping), so another takes it over at once. */
export async function releaseRun(db: Queryable, id: string, holder: string): Promise<void> {
  await db.query(`UPDATE benchmarks SET runner = NULL, runner_lease_until = NULL WHERE id = $1 AND runner = $2`, [id, holder]);
}

/** Cases finished without error; an errored case is tried again when the run resumes. */
export async function doneKeys(db: Queryable, id: string): Promise<Set<string>> {
  const r = await db.query<{ config_index: number; case_id: string }>(`SELECT config_index, case_id FROM benchmark_results WHERE benchmark_id = $1 AND status = 'ok'`, [id]);
  return new Set(r.rows.map((x) => `${Number(x.config_index)}:${x.case_id}`));
}

export async function recordQueryStart(db: Queryable, benchmarkId: string, queryId: string): Promise<void> {
  await db.query(`INSERT INTO benchmark_queries (benchmark_id, query_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [benchmarkId, queryId]);
}

export interface ResultInput {
  benchmarkId: string;
  configIndex: number;
  caseId: string;
  queryId: string;
  status: 'ok' | 'error';
  metrics: Record<string, number | null>;
  ranked: unknown[];
  timings: Record<string, number>;
  answer: string | null;
  details: unknown;
  error: string | null;
}

/** The documents a result drew on: its ranked items' and its details' citations' `document_id`s. */
export function resultDocumentIds(ranked: readonly unknown[], details: unknown): string[] {
  const citations = (details as { citations?: unknown } | null)?.citations;
  const items = [...ranked, ...(Array.isArray(citations) ? citations : [])];
  return [...new Set(items.flatMap((x) => {
    const id = (x as { document_id?: unknown } | null)?.document_id;
    return isUuid(id) ? [id] : [];
  }))];
}

/**
 * Idempotent: a case finished twice (a restart racing a slow write) keeps its first ok result; a retry replaces an error.
 *
 * The answer (and the judge's reason, which may quote it) carries text of the documents the result
 * drew on, which a document's delete or replacement redacts (@quire/stored-queries
 * `redactEvaluationOfDocuments`, found by `document_ids`). So the documents' rows and then the
 * case's stored query row are key-share locked first, the order a redaction takes them in: one in
 * flight commits first and is seen here (a document gone, or the query redacted: its answer came
 * from text that is gone), and the result is stored redacted; or it waits for this insert and then
 * finds the row.
 */
export async function insertResult(db: Db, r: ResultInput): Promise<void> {
  const documentIds = resultDocumentIds(r.ranked, r.details);
  await db.transaction(async (tx) => {
    const live = documentIds.length === 0 ? 0 : (await tx.query(`SELECT id FROM documents WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE`, [documentIds])).rows.length;
    const query = r.queryId ? (await tx.query<{ redacted: boolean }>(`SELECT redacted_at IS NOT NULL AS redacted FROM queries WHERE id = $1 FOR KEY SHARE`, [r.queryId])).rows[0] : undefined;
    const redacted = r.answer !== null && (live < documentIds.length || query?.redacted === true);
    await tx.query(
      `INSERT INTO benchmark_results (benchmark_id, config_index, case_id, query_id, status, metrics, ranked, timings_ms, answer, details, error_message, document_ids, redacted_at)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9, CASE WHEN $13::boolean THEN redact_benchmark_details($10::jsonb) ELSE $10::jsonb END, $11, $12::uuid[],
  CASE WHEN $13::boolean THEN now() END)
ON CONFLICT (benchmark_id, config_index, case_id) DO UPDATE SET query_id = EXCLUDED.query_id, status = EXCLUDED.status, metrics = EXCLUDED.metrics, ranked = EXCLUDED.ranked,
  timings_ms = EXCLUDED.timings_ms, answer = EXCLUDED.answer, details = EXCLUDED.details, error_message = EXCLUDED.error_message,
  document_ids = EXCLUDED.document_ids, redacted_at = EXCLUDED.redacted_at, created_at = now()
WHERE benchmark_results.status = 'error'`,
      [r.benchmarkId, r.configIndex, r.caseId, r.queryId, r.status, JSON.stringify(r.metrics), JSON.stringify(r.ranked), JSON.stringify(r.timings), redacted ? null : r.answer, JSON.stringify(r.details ?? null), r.error, documentIds, redacted],
    );
  });
}

/** What the run has spent so far: the ledger's exact sum over every query id it started (judge calls included). */
export async function spentUsd(db: Queryable, benchmarkId: string): Promise<{ spent: number; queries: number; unpriced: number }> {
  const r = await db.query<{ spent: string; queries: number; unpriced: number }>(
    `SELECT COALESCE(sum(l.cost_usd), 0)::text AS spent, (SELECT count(*) FROM benchmark_queries WHERE benchmark_id = $1)::int AS queries,
  (count(*) FILTER (WHERE l.cost_usd IS NULL AND l.id IS NOT NULL))::int AS unpriced
FROM benchmark_queries q LEFT JOIN usage_ledger l ON l.query_id = q.query_id WHERE q.benchmark_id = $1`,
    [benchmarkId],
  );
  const row = r.rows[0]!;
  return { spent: Number(row.spent), queries: Number(row.queries), unpriced: Number(row.unpriced) };
}

/** Where a run stands against a budget cap (see passesCap). */
export interface CapCheck {
  /** The run would stop before its next case. */
  passes: boolean;
  /** The mean cost per query so far (0 before any query). */
  perQuery: number;
  /** Spent so far plus `perQuery`: what a cap must exceed for the run to go on. */
  needed: number;
}

/**
 * The runner's budget rule: a cap stops the run before the next case when spent so far plus the mean
 * cost per query so far would pass it. The resume route applies the same rule to refuse a run that
 * would stop again at once, and words its refusal with the figures returned.
 */
export function passesCap(spend: { spent: number; queries: number }, capUsd: number): CapCheck {
  const perQuery = spend.queries > 0 ? spend.spent / spend.queries : 0;
  const needed = spend.spent + perQuery;
  return { passes: spend.spent >= capUsd || needed > capUsd, perQuery, needed };
}

/** Per configuration x case of the run: whether a result is stored, and whether it is ok. */
export async function resultStatuses(db: Queryable, benchmarkId: string): Promise<Map<string, 'ok' | 'error'>> {
  const r = await db.query<{ config_index: number; case_id: string; status: 'ok' | 'error' }>(`SELECT config_index, case_id, status FROM benchmark_results WHERE benchmark_id = $1`, [benchmarkId]);
  return new Map(r.rows.map((x) => [`${Number(x.config_index)}:${x.case_id}`, x.status]));
}

/** An identity's access groups as a set: sorted, each once (the order a key lists them in means nothing). */
export function accessGroupsOf(identity: Pick<Identity, 'groups'>): string[] {
  return [...new Set(identity.groups)].sort();
}

/**
 * Whether `caller` sees the documents the run's identity sees: the same access groups. A run's
 * cases search its collection (its team's) filtered by its identity's groups, and nothing else of
 * the identity (team, key, role) changes which documents a case can find or is scored against.
 */
export function sameAccess(run: Pick<Identity, 'groups'>, caller: Pick<Identity, 'groups'>): boolean {
  const a = accessGroupsOf(run);
  const b = accessGroupsOf(caller);
  return a.length === b.length && a.every((g, i) => g === b[i]);
}

/**
 * Puts a final run back in the queue (status `queued`, its error and lease cleared, `budget_usd`
 * replaced when given), only if it is still in the status the caller read and its identity still has
 * the caller's access groups: false when another request or the runner changed it meanwhile. The
 * runner then skips every case already ok.
 *
 * `identity` becomes the run's: the cases it resumes call models as, and are billed to, the caller
 * who resumed it (its allow lists, budgets and rate limits), as a document retry makes the retrying
 * caller the submitter. Never the key that created the run, which may be another team's (an
 * organisation admin's), or revoked since. Its access groups must be the run's (the route refuses
 * others, see sameAccess): cases scored before and after a resume are then scored against the same
 * visible documents, and a run's configurations stay comparable.
 */
export async function reopenRun(db: Queryable, id: string, from: BenchmarkStatus, budgetUsd: number | null, identity: Identity): Promise<boolean> {
  const r = await db.query(
    `UPDATE benchmarks SET status = 'queued', error_message = NULL, finished_at = NULL, updated_at = now(), runner = NULL, runner_lease_until = NULL,
            budget_usd = COALESCE($3::numeric, budget_usd), identity = $4::jsonb
      WHERE id = $1 AND status = $2
        AND ARRAY(SELECT jsonb_array_elements_text(COALESCE(identity -> 'groups', '[]'::jsonb))) @> $5::text[]
        AND ARRAY(SELECT jsonb_array_elements_text(COALESCE(identity -> 'groups', '[]'::jsonb))) <@ $5::text[]
      RETURNING id`,
    [id, from, budgetUsd === null ? null : String(budgetUsd), JSON.stringify(identity), accessGroupsOf(identity)],
  );
  return r.rows.length > 0;
}

/** The jsonb columns of `benchmark_results`, as the runner writes them. */
const ResultColumns = {
  metrics: z.record(z.string(), z.number().nullable()),
  timings_ms: z.record(z.string(), z.number()),
  ranked: z.array(z.unknown()),
  details: z.unknown(),
} as const;
type ResultColumn<K extends keyof typeof ResultColumns> = z.infer<(typeof ResultColumns)[K]>;

export interface ResultRow {
  config_index: number;
  case_id: string;
  query_id: string | null;
  status: 'ok' | 'error';
  metrics: ResultColumn<'metrics'>;
  timings_ms: ResultColumn<'timings_ms'>;
  ranked: ResultColumn<'ranked'>;
  answer: string | null;
  details: ResultColumn<'details'>;
  error_message: string | null;
}

/** A run's results for its frozen cases (a case added to the set later is not the run's), in the run's order. */
export async function loadResults(db: Queryable, benchmarkId: string): Promise<ResultRow[]> {
  const r = await db.query<ResultRow>(
    `SELECT r.config_index, r.case_id, r.query_id, r.status, r.metrics, r.timings_ms, r.ranked, r.answer, r.details, r.error_message
FROM benchmark_results r JOIN benchmark_cases f ON f.benchmark_id = r.benchmark_id AND f.case_id = r.case_id
WHERE r.benchmark_id = $1 ORDER BY r.config_index, f.position`,
    [benchmarkId],
  );
  return r.rows.map(toResultRow);
}

/** A result row with its jsonb columns read (as written by the runner: a mismatch throws, naming the column). */
export function toResultRow<T extends ResultRow>(x: T): T {
  const column = (key: keyof typeof ResultColumns) => `benchmark_results.${key} (case ${x.case_id}, configuration ${x.config_index})`;
  return {
    ...x,
    config_index: Number(x.config_index),
    metrics: readJsonb(ResultColumns.metrics, x.metrics, column('metrics')),
    timings_ms: readJsonb(ResultColumns.timings_ms, x.timings_ms, column('timings_ms')),
    ranked: readJsonb(ResultColumns.ranked, x.ranked, column('ranked')),
    details: readJsonb(ResultColumns.details, x.details, column('details')),
  };
}

/** Per configuration: cases finished, cases errored, and the commonest error messages with their counts. */
export async function configurationOutcomes(db: Queryable, benchmarkId: string): Promise<Map<number, { ok: number; errors: number; messages: { message: string; count: number }[] }>> {
  const r = await db.query<{ config_index: number; status: string; error_message: string | null; n: number }>(
    `SELECT r.config_index, r.status, r.error_message, count(*)::int AS n
FROM benchmark_results r JOIN benchmark_cases f ON f.benchmark_id = r.benchmark_id AND f.case_id = r.case_id
WHERE r.benchmark_id = $1 GROUP BY 1, 2, 3 ORDER BY n DESC, r.error_message`,
    [benchmarkId],
  );
  const out = new Map<number, { ok: number; errors: number; messages: { message: string; count: number }[] }>();
  for (const row of r.rows) {
    const index = Number(row.config_index);
    const entry = out.get(index) ?? { ok: 0, errors: 0, messages: [] };
    if (row.status === 'ok') entry.ok += Number(row.n);
    else {
      entry.errors += Number(row.n);
      entry.messages.push({ message: row.error_message ?? 'unknown error', count: Number(row.n) });
    }
    out.set(index, entry);
  }
  return out;
}

/** Ledger cost per query and stage for a run's results (exact sums, read as text; null = unpriced). */
export async function costByQueryAndStage(db: Queryable, benchmarkId: string): Promise<{ query_id: string; purpose: string; cost: number | null }[]> {
  const r = await db.query<{ query_id: string; purpose: string; cost: string | null }>(
    `SELECT l.query_id, l.purpose, CASE WHEN count(*) FILTER (WHERE l.cost_usd IS NULL) > 0 THEN NULL ELSE sum(l.cost_usd) END::text AS cost
FROM benchmark_results r JOIN usage_ledger l ON l.query_id = r.query_id WHERE r.benchmark_id = $1 GROUP BY l.query_id, l.purpose`,
    [benchmarkId],
  );
  return r.rows.map((x) => ({ query_id: x.query_id, purpose: x.purpose, cost: x.cost === null ? null : Number(x.cost) }));
}
