import { Router } from 'express';
import type { SearchDeps } from '../search/search-pipeline.js';
import { benchmarkRoutes } from './benchmark-routes.js';
import { BenchmarkRunner, type RunnerDeps } from './benchmark-runner.js';
import { evalSetRoutes } from './eval-routes.js';
import { promotionRoutes } from './promotion-routes.js';

export { BenchmarkRunner } from './benchmark-runner.js';
export { JUDGE_RUBRIC } from './judge.js';

/** Eval sets, benchmarks (with their in-process runner), replay, promotion gate and online quality. */
export function evalModule(deps: Omit<RunnerDeps, keyof SearchDeps> & { search: SearchDeps }): { router: Router; runner: BenchmarkRunner } {
  const runner = new BenchmarkRunner({ ...deps.search, internalSecret: deps.internalSecret, logger: deps.logger, ...(deps.resumeDelayMs !== undefined ? { resumeDelayMs: deps.resumeDelayMs } : {}) });
  const router = Router();
  router.use(evalSetRoutes(deps.search));
  router.use(benchmarkRoutes(deps.search, runner));
  router.use(promotionRoutes(deps.search.db));
  runner.start();
  return { router, runner };
}
