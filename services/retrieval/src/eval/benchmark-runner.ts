import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { ERROR_CODES, UuidSchema } from '@quire/contracts';
import type { JobDefinition, JobQueue } from '@quire/jobs';
import { ProviderError } from '@quire/models';
import { AppError, signIdentity, type Logger } from '@quire/server-kit';
import { loadCollection } from '../collections/collection-repository.js';
import type { SearchDeps } from '../search/search-pipeline.js';
import { claimRun, configurationOutcomes, doneKeys, findBenchmark, frozenCases, insertResult, passesCap, recordQueryStart, releaseRun, renewRun, setStatus, spentUsd, unfinishedBenchmarkIds, type BenchmarkRow } from './benchmark-repo.js';
import { applyConfiguration, executeCase, generatesAnswers, relevantInChunkSet, scoreAnswer, scoreRetrieval } from './case-executor.js';
import { staleCases, withChunkDocuments, type EvalCase } from './eval-repo.js';
import { publicRunError } from './run-errors.js';

export interface RunnerDeps extends SearchDeps {
  internalSecret: string;
  logger: Logger;
  /** Wait before resuming unfinished runs at start-up (the gateway may not listen yet). Default 1000 ms. */
  resumeDelayMs?: number;
  /** Tries per case for retryable provider errors (default 3). */
  attempts?: number;
  /**
   * How long a worker's hold on a run lasts without renewal (default 60 s; renewed every third of it).
   * Another worker handed the run lets it be and looks again after this long.
   */
  runLeaseMs?: number;
  /** First wait before asking a refusing queue again to take a run (default 1000 ms, doubling to a minute). */
  kickRetryBaseMs?: number;
}

const BenchmarkJobSchema = z.object({ benchmarkId: UuidSchema });
export type BenchmarkJob = z.infer<typeof BenchmarkJobSchema>;

/** One job per run: a duplicate enqueue (a second look at a running run, a restart) is absorbed by the job id. */
export const runBenchmarkJob: JobDefinition<typeof BenchmarkJobSchema> = {
  name: 'run-benchmark',
  version: 1,
  payloadSchema: BenchmarkJobSchema,
  jobId: (payload) => `benchmark-${payload.benchmarkId}`,
};

/** Raised when the runner stops mid-run, so the queue hands the job to another worker (BullMQ) or keeps it for the next start. */
class RunnerStopping extends Error {
  override readonly name = 'RunnerStopping';
}

/** Whether another try of a case may succeed: the provider error's own flag, or the contracts' flag for the code (ERROR_CODES). */
export const isCaseRetryable = (e: unknown) => (ProviderError.is(e) && e.retryable) || (AppError.is(e) && ERROR_CODES[e.code].retryable);

/**
 * Runs benchmarks as jobs on a queue (BullMQ on Redis, or in-process), one case at a time per
 * worker. Progress lives in Postgres (one result row per configuration x case), so whichever worker
 * takes a run up (after a restart, a stop, or a killed worker's job coming back) continues where the
 * last stopped: finished cases are skipped, an interrupted case runs again.
 */
export class BenchmarkRunner {
  /** This worker, as the runs it holds name it. */
  private readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private stopping = false;
  /** Looks again at runs another worker held, once their lease could have lapsed. */
  private readonly rechecks = new Set<NodeJS.Timeout>();
  private abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly queue: JobQueue<BenchmarkJob>,
  ) {}

  /**
   * After the start-up delay (the gateway may not listen yet, and a run's cases call it), takes jobs
   * and queues every run that a stopped process left unfinished. Runs created meanwhile wait in the queue.
   */
  start(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.queue
        .start((payload) => this.handle(payload.benchmarkId))
        .then(() => this.resumeUnfinished())
        .catch((error: unknown) => this.deps.logger.error('benchmark runner did not start', { err: String(error) }));
    }, this.deps.resumeDelayMs ?? 1000);
    this.timer.unref?.();
  }

  /**
   * Queues a run (nothing happens if its job is already queued or running). A queue that refuses
   * (Redis down: enqueues fail fast) is asked again with backoff, up to a minute apart, until it takes
   * the run or this runner stops: nothing else would queue a run created meanwhile.
   */
  kick(benchmarkId: string, failures = 0): void {
    if (this.stopping) return;
    this.queue.enqueue({ benchmarkId }).catch((error: unknown) => {
      const delayMs = Math.min(60_000, (this.deps.kickRetryBaseMs ?? 1000) * 2 ** failures);
      this.deps.logger.error('could not queue a benchmark run; trying again', { benchmark_id: benchmarkId, err: String(error), retry_in_ms: delayMs });
      this.later(() => this.kick(benchmarkId, failures + 1), delayMs);
    });
  }

  /** A timer stop() clears. */
  private later(fn: () => void, ms: number): void {
    if (this.stopping) return;
    const timer = setTimeout(() => {
      this.rechecks.delete(timer);
      fn();
    }, ms);
    timer.unref?.();
    this.rechecks.add(timer);
  }

  /** Stops after the case in flight is cancelled; its run stays `running` and its job goes back to the queue. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    for (const t of this.rechecks) clearTimeout(t);
    this.rechecks.clear();
    this.abort.abort();
    await this.queue.stop();
  }

  /** Throws when the queue's store does not answer (readiness). */
  ping(): Promise<void> {
    return this.queue.ping();
  }

  private async resumeUnfinished(): Promise<void> {
    try {
      for (const id of await unfinishedBenchmarkIds(this.deps.db)) this.kick(id);
    } catch (error) {
      this.deps.logger.error('could not resume benchmark runs', { err: String(error) });
    }
  }

  /**
   * Runs the run once this worker holds it. Two workers can be handed one run (two processes resume
   * it at start-up, or a queue hands a stalled job out again): the second lets it be, without holding
   * one of its queue's slots, and looks again once the first's lease could have lapsed. Then the run
   * is final, or its holder died and this worker resumes it.
   */
  private async handle(benchmarkId: string): Promise<void> {
    const { db } = this.deps;
    const leaseMs = this.deps.runLeaseMs ?? 60_000;
    const benchmark = await findBenchmark(db, benchmarkId);
    if (!benchmark || (benchmark.status !== 'queued' && benchmark.status !== 'running')) return;
    if (!(await claimRun(db, benchmarkId, this.holder, leaseMs))) {
      this.later(() => this.kick(benchmarkId), leaseMs);
      return;
    }
    let held = true;
    const renewal = setInterval(() => {
      renewRun(db, benchmarkId, this.holder, leaseMs)
        .then((still) => (held &&= still))
        .catch((error: unknown) => this.deps.logger.warn('could not renew a benchmark run\'s lease', { benchmark_id: benchmarkId, err: String(error) }));
    }, leaseMs / 3);
    try {
      await this.run(benchmark, () => held);
    } catch (error) {
      if (!this.stopping) {
        this.deps.logger.error('benchmark failed', { benchmark_id: benchmark.id, err: String((error as Error)?.stack ?? error) });
        await setStatus(db, benchmark.id, 'failed', publicRunError(error), this.holder);
        return;
      }
    } finally {
      clearInterval(renewal);
    }
    if (this.stopping) {
      await releaseRun(db, benchmark.id, this.holder).catch(() => undefined);
      throw new RunnerStopping('The benchmark runner stopped mid-run.');
    }
  }

  /** `held` turns false when this worker lost the run (its lease lapsed and another took over): it stops. */
  private async run(b: BenchmarkRow, held: () => boolean): Promise<void> {
    const { db } = this.deps;
    const base = await loadCollection(db, b.team_id, b.collection_id);
    // Only the cases frozen when the run was created: a case added since is not this run's, and one
    // deleted since is skipped (the report lists it).
    const { cases } = await frozenCases(db, b.id);
    const done = await doneKeys(db, b.id);
    // Running a case whose judged documents are gone would pay for a guaranteed zero; the report lists them instead.
    const stale = new Set((await staleCases(db, b.collection_id, cases)).map((c) => c.case_id));
    for (const [index, config] of b.configurations.entries()) {
      const collection = await applyConfiguration(this.deps, base, config);
      for (const c of cases) {
        if (this.stopping || !held()) return;
        if (done.has(`${index}:${c.id}`) || stale.has(c.id)) continue;
        if (b.budget_usd !== null && (await this.overBudget(b))) {
          await setStatus(db, b.id, 'stopped_budget', `Stopped by the budget cap of $${b.budget_usd}; results so far are kept.`, this.holder);
          return;
        }
        await this.runCase(b, index, collection, c);
      }
    }
    if (!held()) return;
    const failure = await this.failedConfigurations(b);
    await setStatus(db, b.id, failure ? 'failed' : 'completed', failure, this.holder);
  }

  /**
   * Why the run failed, or null: a configuration that errored on every case it ran has no result to
   * compare, and the comparison is over the cases every configuration finished, so the run measured
   * nothing. Called `completed`, it hid the cause in per-case rows; the error says it instead.
   */
  private async failedConfigurations(b: BenchmarkRow): Promise<string | null> {
    const outcomes = await configurationOutcomes(this.deps.db, b.id);
    const failed = b.configurations.flatMap((c, i) => {
      const o = outcomes.get(i);
      if (!o || o.ok > 0 || o.errors === 0) return [];
      const causes = o.messages.slice(0, 3).map((m) => `${m.message} (${m.count}x)`).join('; ');
      return [`configuration "${c.name}" failed on every case (${o.errors}): ${causes}`];
    });
    return failed.length ? `No comparison: ${failed.join(' | ')}`.slice(0, 4000) : null;
  }

  /**
   * Stops before a case that would likely cross the cap: spent so far plus the mean cost of the
   * queries run so far. Spend comes from the ledger for every query id the run started.
   */
  private async overBudget(b: BenchmarkRow): Promise<boolean> {
    return passesCap(await spentUsd(this.deps.db, b.id), b.budget_usd!).passes;
  }

  private async runCase(b: BenchmarkRow, index: number, collection: Awaited<ReturnType<typeof applyConfiguration>>, c: EvalCase): Promise<void> {
    const { db } = this.deps;
    const config = b.configurations[index]!;
    const attempts = this.deps.attempts ?? 3;
    let lastError: unknown = null;
    // Chunk judgments map onto a re-chunked version's own chunks (see relevantInChunkSet).
    const relevant = await relevantInChunkSet(db, await withChunkDocuments(db, c.relevant), collection.chunkSetVersionId);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const queryId = randomUUID();
      const traceId = `eval_${b.id.slice(0, 8)}_${queryId.replace(/-/g, '').slice(0, 16)}`;
      const identityToken = signIdentity(b.identity, this.deps.internalSecret);
      await recordQueryStart(db, b.id, queryId);
      try {
        const run = await executeCase({ deps: this.deps, collection, config, question: c.question, identity: b.identity, identityToken, traceId, queryId, abortSignal: this.abort.signal });
        const metrics: Record<string, number | null> = { ...(scoreRetrieval(run.ranked, relevant, config.top_k) ?? {}) };
        let details: unknown = null;
        if (generatesAnswers(config)) {
          const scored = await scoreAnswer(this.deps, run, {
            question: c.question,
            reference: c.reference_answer,
            judgeModel: b.judge_model,
            call: { identityToken, traceId, collectionId: collection.id, queryId },
            abortSignal: this.abort.signal,
          });
          Object.assign(metrics, scored.metrics);
          details = { citations: run.citations.map((x) => ({ chunk_id: x.chunk_id, document_id: x.document_id, supported: x.supported ?? null })), judge: scored.verdict };
        }
        // Kept even when stopping: the case is finished and paid for, and a resumed run would pay again.
        await insertResult(db, { benchmarkId: b.id, configIndex: index, caseId: c.id, queryId, status: 'ok', metrics, ranked: run.ranked, timings: run.timings, answer: run.answer, details, error: null });
        return;
      } catch (error) {
        if (this.stopping) return;
        lastError = error;
        if (!isCaseRetryable(error) || attempt === attempts) break;
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
    // Recorded as an error so this pass moves on; a resumed run tries it again (doneKeys counts only ok rows).
    // The team reads the stored text (publicRunError says what it keeps); the log keeps the error whole.
    this.deps.logger.warn('benchmark case failed', { benchmark_id: b.id, configuration: index, case_id: c.id, err: String((lastError as Error)?.message ?? lastError) });
    await insertResult(db, { benchmarkId: b.id, configIndex: index, caseId: c.id, queryId: null as unknown as string, status: 'error', metrics: {}, ranked: [], timings: {}, answer: null, details: null, error: publicRunError(lastError) });
  }
}
