import { Router, type Response } from 'express';
import { z } from 'zod';
import { UuidSchema } from '@quire/contracts';
import type { Db, Queryable } from '@quire/db';
import { ctx, handle, paramsOf, parseWith, exactRouter } from '@quire/server-kit';
import { ownerReach } from '../collections/collection-repository.js';
import { benchmarkNotFound, getBenchmark, toResultRow, type BenchmarkRow, type ResultRow } from './benchmark-repo.js';
import { configIndex, queryCost } from './benchmark-report.js';
import type { RankedItem } from './case-executor.js';
import { readRelevant, staleCases } from './eval-repo.js';
import type { JudgeVerdict } from './judge.js';
import { decodeCursor, encodeCursor, pageQuery } from './page.js';
import { hiddenJudgedIds, ranIt, REDACTED_REASON, resultDrewOnHiddenSql, withoutHidden, type Reader } from './reader-access.js';

const IdParams = z.object({ id: UuidSchema });
const ResultsQuery = pageQuery(50, 500).extend({
  /** A configuration's name or index; all configurations (one after the other) when absent. */
  configuration: z.string().min(1).max(100).optional(),
  format: z.enum(['json', 'jsonl']).default('json'),
});
/** (configuration index, the case's position in the run): the order results are listed in. */
const ResultCursor = z.tuple([z.number().int().min(0), z.number().int().min(0)]);

interface ResultPageRow extends ResultRow {
  position: number;
  question: string;
  external_id: string | null;
  relevant: unknown;
  /** It drew on a document hidden from the reader (see reader-access.ts). */
  hidden: boolean;
}

/**
 * Results of a run's frozen cases in (configuration, case position) order, after `after`, each
 * marked `hidden` when it drew on a document the reader may not read (never for the key that ran it).
 */
async function resultRows(db: Queryable, benchmarkId: string, input: { configIndex: number | null; after: readonly [number, number] | null; limit: number; ranIt: boolean; groups: readonly string[] }): Promise<ResultPageRow[]> {
  const r = await db.query<ResultPageRow>(
    `SELECT r.config_index, r.case_id, r.query_id, r.status, r.metrics, r.timings_ms, r.ranked, r.answer, r.details, r.error_message, f.position, c.question, c.external_id, c.relevant,
  (NOT $6::boolean AND ${resultDrewOnHiddenSql('r', 'q', '$7')}) AS hidden
FROM benchmark_results r
JOIN benchmark_cases f ON f.benchmark_id = r.benchmark_id AND f.case_id = r.case_id
JOIN eval_cases c ON c.id = r.case_id
LEFT JOIN queries q ON q.id = r.query_id
WHERE r.benchmark_id = $1 AND ($2::int IS NULL OR r.config_index = $2::int) AND ($3::int IS NULL OR (r.config_index, f.position) > ($3::int, $4::int))
ORDER BY r.config_index, f.position LIMIT $5`,
    [benchmarkId, input.configIndex, input.after?.[0] ?? null, input.after?.[1] ?? null, input.limit, input.ranIt, input.groups],
  );
  return r.rows.map((row) => ({ ...toResultRow(row), position: Number(row.position), hidden: row.hidden === true }));
}

/** Ledger cost per query and stage for the given queries (null: unpriced). */
async function costsOf(db: Queryable, queryIds: string[]): Promise<Map<string, Map<string, number | null>>> {
  const costs = new Map<string, Map<string, number | null>>();
  if (queryIds.length === 0) return costs;
  const r = await db.query<{ query_id: string; purpose: string; cost: string | null }>(
    `SELECT query_id, purpose, CASE WHEN count(*) FILTER (WHERE cost_usd IS NULL) > 0 THEN NULL ELSE sum(cost_usd) END::text AS cost
FROM usage_ledger WHERE query_id = ANY($1::uuid[]) GROUP BY query_id, purpose`,
    [queryIds],
  );
  for (const row of r.rows) {
    if (!costs.has(row.query_id)) costs.set(row.query_id, new Map());
    costs.get(row.query_id)!.set(row.purpose, row.cost === null ? null : Number(row.cost));
  }
  return costs;
}

/**
 * One question under one configuration, as a person checking a number wants to see it. A result
 * hidden from the reader keeps its metrics, latency and cost but not the answer, citations, ranked
 * ids or the judge's reason (which may quote the answer); its judged documents the reader may not
 * read are withheld as in the eval set's cases.
 */
function resultView(b: BenchmarkRow, row: ResultPageRow, costs: Map<string, Map<string, number | null>>, stale: ReadonlySet<string>, hiddenJudged: ReadonlySet<string>) {
  const ranked = row.ranked as RankedItem[];
  const stages = costs.get(row.query_id ?? '') ?? new Map<string, number | null>();
  const details = (row.details ?? {}) as { citations?: unknown; judge?: JudgeVerdict | null };
  const judge = details.judge ?? null;
  return {
    object: 'benchmark_result',
    configuration: { index: row.config_index, name: b.configurations[row.config_index]?.name ?? null },
    case_id: row.case_id,
    external_id: row.external_id,
    question: row.question,
    ...withoutHidden(readRelevant(row.relevant, row.case_id), hiddenJudged),
    redacted: row.hidden,
    redaction_reason: row.hidden ? REDACTED_REASON : null,
    /** The case's judged documents or chunks are gone: left out of the run's figures (see stale_cases). */
    stale: stale.has(row.case_id),
    status: row.status,
    error: row.error_message,
    query_id: row.query_id,
    ranked: row.hidden ? null : ranked.map((r, i) => ({ rank: i + 1, chunk_id: r.chunk_id, document_id: r.document_id })),
    metrics: row.metrics,
    answer: row.hidden ? null : row.answer,
    citations: row.hidden ? null : (details.citations ?? null),
    judge: row.hidden && judge ? { ...judge, reason: null } : judge,
    latency_ms: row.timings_ms,
    cost_usd: {
      /** As in the summary: the configuration's own calls, judge excluded; null when any was unpriced. */
      total: row.query_id ? queryCost(costs, row.query_id) : null,
      by_stage: Object.fromEntries(stages),
    },
  };
}

async function page(db: Queryable, b: BenchmarkRow, reader: Reader, configIndex: number | null, after: readonly [number, number] | null, limit: number) {
  const rows = await resultRows(db, b.id, { configIndex, after, limit: limit + 1, ranIt: ranIt(reader, b.identity), groups: reader.groups });
  const data = rows.slice(0, limit);
  const costs = await costsOf(db, data.flatMap((r) => (r.query_id ? [r.query_id] : [])));
  const cases = data.map((r) => ({ id: r.case_id, relevant: readRelevant(r.relevant, r.case_id) }));
  const stale = new Set((await staleCases(db, b.collection_id, cases)).map((s) => s.case_id));
  const hiddenJudged = await hiddenJudgedIds(db, cases.flatMap((c) => c.relevant), reader.groups);
  const last = data[data.length - 1];
  return { data: data.map((r) => resultView(b, r, costs, stale, hiddenJudged)), next_cursor: rows.length > limit && last ? encodeCursor([last.config_index, last.position]) : null };
}

/** JSONL export: every result from the cursor on, streamed page by page (one object per line), redacted as the JSON pages are. */
async function streamJsonl(db: Queryable, res: Response, b: BenchmarkRow, reader: Reader, configIndex: number | null, from: readonly [number, number] | null, limit: number): Promise<void> {
  res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
  res.setHeader('content-disposition', `attachment; filename="benchmark-${b.id}-results.jsonl"`);
  let after = from;
  // Page by page as the client reads: a client gone ends the export, a slow one is waited for
  // rather than buffered (a run's results can be many megabytes).
  while (!res.destroyed) {
    const p = await page(db, b, reader, configIndex, after, limit);
    if (p.data.length && !res.write(p.data.map((x) => JSON.stringify(x)).join('\n') + '\n')) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    if (!p.next_cursor) break;
    after = decodeCursor(p.next_cursor, ResultCursor);
  }
  if (!res.destroyed) res.end();
}

/**
 * `GET /v1/benchmarks/:id/results?configuration=&cursor=&limit=&format=`: per question and
 * configuration, what was retrieved (ranked ids), the metrics, the answer and the judge's verdict,
 * cost and latency, or the error, so any figure of the summary can be traced to its questions.
 * Stable order (configuration, then the run's case order); `format=jsonl` streams every result.
 * What each reader sees of a result follows the documents it drew on (reader-access.ts).
 */
export function benchmarkResultsRoutes(db: Db): Router {
  const router = exactRouter();
  router.get(
    '/v1/benchmarks/:id/results',
    handle(async (req, res) => {
      const { identity } = ctx(res);
      const b = await getBenchmark(db, identity.team_id, paramsOf(req, IdParams, { id: benchmarkNotFound }).id, ownerReach(identity));
      const q = parseWith(ResultsQuery, req.query, 'query');
      const configIndexOf = q.configuration === undefined ? null : configIndex(b, q.configuration, 'configuration');
      const after = q.cursor ? decodeCursor(q.cursor, ResultCursor) : null;
      if (q.format === 'jsonl') return streamJsonl(db, res, b, identity, configIndexOf, after, q.limit);
      res.json({ object: 'list', benchmark_id: b.id, ...(await page(db, b, identity, configIndexOf, after, q.limit)) });
    }),
  );
  return router;
}
