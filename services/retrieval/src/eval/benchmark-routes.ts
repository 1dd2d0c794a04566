import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import type { Queryable } from '@quire/db';
import { z } from 'zod';
import { UuidSchema } from '@quire/contracts';
import { AppError, ctx, handle, paramsOf, parseWith, exactRouter } from '@quire/server-kit';
import { loadCollection, ownerReach } from '../collections/collection-repository.js';
import { toAppErrorOrInternal } from '../errors.js';
import { findQuery } from '../queries/query-repository.js';
import { queryNotFound } from '../routes/query-routes.js';
import { assertChunkSetIndexable } from '../search/chunk-set-bm25.js';
import type { SearchDeps } from '../search/search-pipeline.js';
import { usageForQuery } from '../usage/ledger-usage.js';
import { benchmarkNotFound, frozenCases, getBenchmark, insertBenchmark, pageBenchmarks, passesCap, reopenRun, resultStatuses, sameAccess, spentUsd, type BenchmarkRow, type BenchmarkStatus } from './benchmark-repo.js';
import { benchmarkView, compareConfigurations, configIndex } from './benchmark-report.js';
import type { BenchmarkRunner } from './benchmark-runner.js';
import { applyConfiguration, executeCase, generatesAnswers, type RankedItem } from './case-executor.js';
import { addCases, checkRelevantIds, getEvalSet, staleCases } from './eval-repo.js';
import { CreateBenchmarkSchema, ReplaySchema, ResumeBenchmarkSchema, ToEvalCaseSchema, type StoredConfiguration } from './eval-schemas.js';
import { requireWriter } from './eval-routes.js';
import { namedModels, unknownModelError, unknownModels } from './model-check.js';
import { CreatedCursor, decodeCursor, pageQuery } from './page.js';

const IdParams = z.object({ id: UuidSchema });

/**
 * Final runs that may have cases left: `completed` with errored cases, `stopped_budget`, and
 * `failed` (a configuration errored on every case, e.g. a provider outage). `cancelled` stays final.
 */
const RESUMABLE: ReadonlySet<BenchmarkStatus> = new Set(['completed', 'stopped_budget', 'failed']);

/**
 * What a resume would run: per configuration, the run's frozen cases still in the set whose result
 * is an error or missing. Stale cases (judged documents gone) are left out, as the runner skips them.
 */
async function casesLeft(db: Queryable, b: BenchmarkRow): Promise<{ errored: number; missing: number }> {
  const { cases } = await frozenCases(db, b.id);
  const stale = new Set((await staleCases(db, b.collection_id, cases)).map((c) => c.case_id));
  const statuses = await resultStatuses(db, b.id);
  let errored = 0;
  let missing = 0;
  for (let index = 0; index < b.configurations.length; index++) {
    for (const c of cases) {
      if (stale.has(c.id)) continue;
      const status = statuses.get(`${index}:${c.id}`);
      if (status === 'error') errored++;
      else if (status === undefined) missing++;
    }
  }
  return { errored, missing };
}
const ListQuery = pageQuery(20, 100).extend({ eval_set_id: UuidSchema.optional() });
const CompareQuery = z.object({ a: z.string().min(1).max(100), b: z.string().min(1).max(100) });

export function benchmarkRoutes(deps: SearchDeps, runner: BenchmarkRunner): Router {
  const { db } = deps;
  const router = exactRouter();

  router.post(
    '/v1/benchmarks',
    handle(async (req, res) => {
      const identity = requireWriter(res);
      const body = parseWith(CreateBenchmarkSchema, req.body);
      const reach = ownerReach(identity);
      const set = await getEvalSet(db, identity.team_id, body.eval_set_id, reach);
      if (set.cases === 0) throw new AppError('invalid_request', 'The eval set has no cases.', { param: 'eval_set_id' });
      const collection = await loadCollection(db, identity.team_id, set.collection_id, reach);
      // Each configuration is checked now (index version ready, mode possible) and pinned to an index version.
      const configurations: StoredConfiguration[] = [];
      const embeddingModels: (string | null)[] = [];
      for (const c of body.configurations) {
        const view = await applyConfiguration(deps, collection, c);
        embeddingModels.push(view.embeddingModel);
        // A version with its own chunk set changes what keyword search reads; any other does not.
        if (c.mode === 'keyword' && c.index_version_id && !view.chunkSetVersionId) {
          throw new AppError('invalid_request', `Configuration "${c.name}": keyword search does not use vectors, so an index version makes no difference to it unless it was built with other chunking; use vector or hybrid mode to compare index versions.`, { param: 'configurations' });
        }
        // Keyword search over a version's own chunk set indexes it in memory; a set over the cap is refused now, not case by case.
        if (c.mode !== 'vector' && view.chunkSetVersionId) await assertChunkSetIndexable(db, collection.id, view.chunkSetVersionId);
        if (c.mode !== 'keyword' && !view.embeddingModel) throw new AppError('no_embedding_model', `Configuration "${c.name}": the collection has no embedding model, so only keyword mode is possible.`, { param: 'configurations' });
        if ((c.answer || c.generation_model) && !view.generationModel) throw new AppError('no_generation_model', `Configuration "${c.name}" asks for answers but no generation model is set: name one in the configuration (generation_model), or set the collection's with PATCH /v1/collections/${collection.id} {"generation_model": "provider/model"}.`, { param: 'configurations' });
        // Pinned with the models it resolves to now (the collection's when it names none), so an
        // interrupted run resumes with the same ones whatever the collection's settings become.
        configurations.push({
          ...c,
          resolved_index_version_id: view.indexVersionId,
          resolved_rerank_model: c.rerank_model === null ? null : (view.rerankModel ?? null),
          resolved_generation_model: generatesAnswers(c) ? view.generationModel : null,
        });
      }
      // A model the gateway does not serve would fail every case of the run; refused now, by name.
      const { identityToken, traceId } = ctx(res);
      const unknown = await unknownModels(deps.models, { identityToken, traceId }, namedModels(body, (i) => embeddingModels[i] ?? null));
      if (unknown.length) throw unknownModelError(unknown);
      // The run belongs to the collection's team (what an organisation admin runs there too); it
      // calls models as, and is billed to, the caller's identity. Its cases are frozen now.
      const id = await insertBenchmark(db, {
        teamId: collection.teamId,
        evalSetId: set.id,
        collectionId: collection.id,
        configurations,
        judgeModel: body.judge_model ?? null,
        budgetUsd: body.budget_usd ?? null,
        identity,
      });
      runner.kick(id);
      res.status(202).json(await benchmarkView(db, await getBenchmark(db, collection.teamId, id)));
    }),
  );

  router.get(
    '/v1/benchmarks',
    handle(async (req, res) => {
      const q = parseWith(ListQuery, req.query, 'query');
      const { identity } = ctx(res);
      const after = q.cursor ? decodeCursor(q.cursor, CreatedCursor) : null;
      const page = await pageBenchmarks(db, { teamId: identity.team_id, evalSetId: q.eval_set_id ?? null, reach: ownerReach(identity), after, limit: q.limit });
      res.json({
        object: 'list',
        data: page.data.map((b) => ({ id: b.id, eval_set_id: b.eval_set_id, collection_id: b.collection_id, status: b.status, error: b.error_message, configurations: b.configurations.map((c) => c.name), budget_usd: b.budget_usd, created_at: b.created_at, finished_at: b.finished_at })),
        next_cursor: page.next_cursor,
      });
    }),
  );

  router.get(
    '/v1/benchmarks/:id',
    handle(async (req, res) => {
      const { identity } = ctx(res);
      const b = await getBenchmark(db, identity.team_id, paramsOf(req, IdParams, { id: benchmarkNotFound }).id, ownerReach(identity));
      // A run left `running` by a stopped process resumes when anyone looks at it (and at start-up).
      if (b.status === 'queued' || b.status === 'running') runner.kick(b.id);
      res.json(await benchmarkView(db, b));
    }),
  );

  router.post(
    '/v1/benchmarks/:id/resume',
    handle(async (req, res) => {
      // Resuming calls models as, and billed to, the caller (it becomes the run's identity), so it
      // needs the same role as starting a benchmark.
      const identity = requireWriter(res);
      const body = parseWith(ResumeBenchmarkSchema, req.body ?? {});
      const b = await getBenchmark(db, identity.team_id, paramsOf(req, IdParams, { id: benchmarkNotFound }).id, ownerReach(identity));
      const notResumable = (reason: string, message: string, left?: { errored: number; missing: number }) =>
        new AppError('benchmark_not_resumable', message, { exposed: { reason, benchmark_status: b.status, ...(left ? { errored_cases: left.errored, missing_cases: left.missing } : {}) } });
      // The status and the caller's access first: they need no scan of the run's cases.
      if (b.status === 'queued' || b.status === 'running') throw notResumable('in_progress', `Benchmark ${b.id} is ${b.status}: it resumes by itself (errored cases are tried again on its next pass).`);
      if (!RESUMABLE.has(b.status)) throw notResumable('not_resumable', `Benchmark ${b.id} is ${b.status} and cannot be resumed.`);
      // Its cases search with the run's access groups; a caller with other groups would score the
      // rest against other documents than the cases already done, and promotion compares them as alike.
      if (!sameAccess(b.identity, identity)) {
        throw notResumable(
          'access_differs',
          `Benchmark ${b.id} ran with the access groups of key ${b.identity.key_id}, and yours differ: its remaining cases would be scored against other documents than its finished ones. It can be resumed by a key with exactly the run's access groups (key ${b.identity.key_id}, or another with the same groups); or start a new benchmark with your key.`,
        );
      }
      const left = await casesLeft(db, b);
      if (left.errored + left.missing === 0) throw notResumable('nothing_to_resume', `Benchmark ${b.id} finished every case without error: there is nothing to resume.`, left);
      // The runner stops before a case that would pass the cap; a run that would stop again at once is refused now.
      const spend = await spentUsd(db, b.id);
      const cap = body.budget_usd ?? b.budget_usd;
      const check = cap === null ? null : passesCap(spend, cap);
      if (check?.passes) {
        const needed = `more than $${check.needed.toPrecision(6)} (spent $${spend.spent.toPrecision(6)}, about $${check.perQuery.toPrecision(6)} per query so far)`;
        if (body.budget_usd !== undefined) throw new AppError('invalid_request', `budget_usd $${body.budget_usd} would stop the run before its next case: give ${needed}.`, { param: 'budget_usd' });
        throw notResumable('over_budget', `Benchmark ${b.id} would stop at its budget cap of $${b.budget_usd} before its next case: raise it with budget_usd, ${needed}.`, left);
      }
      // The resumed cases run as the caller (their allow lists and budgets, the run's groups), not as the run's creator.
      if (!(await reopenRun(db, b.id, b.status, body.budget_usd ?? null, identity))) throw notResumable('in_progress', `Benchmark ${b.id} changed while it was being resumed; look at it again.`, left);
      // The runner skips every case already ok (finished and paid for) and runs the errored and missing ones.
      runner.kick(b.id);
      const resumed = await getBenchmark(db, b.team_id, b.id);
      res.status(202).json({ ...(await benchmarkView(db, resumed)), resumed: { errored_cases: left.errored, missing_cases: left.missing } });
    }),
  );

  router.get(
    '/v1/benchmarks/:id/compare',
    handle(async (req, res) => {
      const { identity } = ctx(res);
      const b = await getBenchmark(db, identity.team_id, paramsOf(req, IdParams, { id: benchmarkNotFound }).id, ownerReach(identity));
      const q = parseWith(CompareQuery, req.query, 'query');
      const out = await compareConfigurations(db, b, configIndex(b, q.a, 'a'), configIndex(b, q.b, 'b'));
      res.json({
        object: 'benchmark_comparison',
        benchmark_id: b.id,
        ...out,
        method: 'paired over questions both configurations finished: bootstrap 95% CI of mean(b - a) (1000 resamples, seed 42) and a two-sided sign-flip randomisation test (10000 permutations); a winner is named only when p < 0.05 and the CI excludes 0',
      });
    }),
  );

  router.post(
    '/v1/queries/:id/replay',
    handle(async (req, res) => {
      // Replay calls models billed to the team, so it needs the same role as starting a benchmark.
      const identity = requireWriter(res);
      const body = parseWith(ReplaySchema, req.body);
      const { identityToken, traceId } = ctx(res);
      const { id } = paramsOf(req, IdParams, { id: queryNotFound });
      const original = await findQuery(db, identity, id);
      if (!original || !original.collection_id) throw queryNotFound(id);
      const collection = await applyConfiguration(deps, await loadCollection(db, identity.team_id, original.collection_id), body.configuration);
      const queryId = randomUUID();
      let run;
      try {
        run = await executeCase({ deps, collection, config: body.configuration, question: original.query, identity, identityToken, traceId, queryId });
      } catch (error) {
        throw toAppErrorOrInternal(error);
      }
      const before = ((original.results ?? []) as RankedItem[]).map((r) => r.document_id);
      const after = run.ranked.map((r) => r.document_id);
      const overlap = before.length ? before.filter((d) => after.includes(d)).length / before.length : null;
      res.json({
        object: 'query_replay',
        original_query_id: original.id,
        query_id: queryId,
        configuration: body.configuration,
        results: run.ranked,
        answer: run.answer,
        citations: run.citations,
        timings_ms: run.timings,
        usage: await usageForQuery(db, queryId),
        original: { results: original.results, answer: original.answer, timings_ms: original.timings_ms, usage: await usageForQuery(db, original.id) },
        document_overlap: overlap,
      });
    }),
  );

  router.post(
    '/v1/queries/:id/to-eval-case',
    handle(async (req, res) => {
      const identity = requireWriter(res);
      const body = parseWith(ToEvalCaseSchema, req.body);
      const { id } = paramsOf(req, IdParams, { id: queryNotFound });
      const query = await findQuery(db, identity, id);
      if (!query) throw queryNotFound(id);
      const set = await getEvalSet(db, identity.team_id, body.eval_set_id, ownerReach(identity));
      if (query.collection_id !== set.collection_id) throw new AppError('invalid_request', 'The query was asked over another collection than the eval set\'s.', { param: 'eval_set_id' });
      // Without explicit ids, the documents the answer cited stand in (a person should confirm them).
      const cited = [...new Set((query.citations as { document_id?: string }[]).flatMap((c) => (c.document_id ? [c.document_id] : [])))];
      const ids = body.relevant_document_ids ?? cited;
      if (ids.length === 0) throw new AppError('invalid_request', 'Give relevant_document_ids: the query has no cited documents to use.', { param: 'relevant_document_ids' });
      const relevant = ids.map((id) => ({ document_id: id, grade: 1 }));
      await checkRelevantIds(db, set.collection_id, relevant);
      const [caseId] = await db.transaction((tx) => addCases(tx, set.id, [{ question: query.query, relevant, referenceAnswer: body.reference_answer ?? null, sourceQueryId: query.id }]));
      res.status(201).json({ object: 'eval_case', id: caseId, eval_set_id: set.id, question: query.query, relevant, source_query_id: query.id });
    }),
  );
  return router;
}
