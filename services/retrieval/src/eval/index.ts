import type { Router } from 'express';
import { createBullmqQueue, createInProcessQueue } from '@quire/jobs';
import type { SearchDeps } from '../search/search-pipeline.js';
import { benchmarkResultsRoutes } from './benchmark-results.js';
import { benchmarkRoutes } from './benchmark-routes.js';
import { BenchmarkRunner, runBenchmarkJob, type RunnerDeps } from './benchmark-runner.js';
import { evalSetRoutes } from './eval-routes.js';
import { promotionRoutes } from './promotion-routes.js';
import { exactRouter } from '@quire/server-kit';

export { BenchmarkRunner } from './benchmark-runner.js';
export { JUDGE_RUBRIC } from './judge.js';

export interface EvalModuleDeps extends Omit<RunnerDeps, keyof SearchDeps> {
  search: SearchDeps;
  /** Benchmark runs go to BullMQ on this Redis; without it they run in process. */
  redisUrl?: string;
  /** The BullMQ queue's name (default `quire-benchmarks`). */
  queueName?: string;
  /** This deployment's namespace in a shared Redis database (QUIRE_REDIS_PREFIX); unset: BullMQ's `bull:` keys. */
  redisNamespace?: string;
}

/** Retries of a run's job: only a stopped worker or a database error fails one (case errors are results). */
const RUN_RETRY = { attempts: 10, baseDelayMs: 1000 };

/** Eval sets, benchmarks (run as jobs), replay, promotion gate and online quality. */
export function evalModule(deps: EvalModuleDeps): { router: Router; runner: BenchmarkRunner } {
  const queue = deps.redisUrl
    ? createBullmqQueue(runBenchmarkJob, {
        redisUrl: deps.redisUrl,
        queueName: deps.queueName ?? 'quire-benchmarks',
        ...(deps.redisNamespace ? { redisNamespace: deps.redisNamespace } : {}),
        concurrency: 1,
        retry: RUN_RETRY,
        logger: deps.logger,
      })
    : createInProcessQueue(runBenchmarkJob, { concurrency: 1, retry: RUN_RETRY, logger: deps.logger });
  const runner = new BenchmarkRunner(
    { ...deps.search, internalSecret: deps.internalSecret, logger: deps.logger, ...(deps.resumeDelayMs !== undefined ? { resumeDelayMs: deps.resumeDelayMs } : {}) },
    queue,
  );
  const router = exactRouter();
  router.use(evalSetRoutes(deps.search));
  router.use(benchmarkRoutes(deps.search, runner));
  router.use(benchmarkResultsRoutes(deps.search.db));
  router.use(promotionRoutes(deps.search.db));
  runner.start();
  return { router, runner };
}
