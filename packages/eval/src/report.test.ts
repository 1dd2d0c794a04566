import { formatComparison, formatSummaryTable, type ConfigSummary } from './report.js';

const summary = (over: Partial<ConfigSummary>): ConfigSummary => ({
  index: 0,
  name: 'vector',
  cases_done: 10,
  errors: 0,
  metrics: { 'ndcg@10': { mean: 0.5, lower: 0.4, upper: 0.6, n: 7 } },
  latency_ms: {},
  cost_usd: { per_query: 0, per_query_by_stage: {}, judge_total: 0, unpriced_calls: 0 },
  ...over,
});

describe('the CLI table', () => {
  test('n is the number of questions the figures are over, not the cases the configuration ran', () => {
    // Ran 10, 2 failed, 1 excluded because another configuration failed on it: the means are over 7.
    const out = formatSummaryTable([summary({ compared_cases: 7, excluded_cases: 1, errors: 2 })]);
    expect(out.split('\n')[2]).toMatch(/^\| vector \| 7 \(2 err\) \| 0\.500 \[0\.400, 0\.600\] \|/);
    // A summary from before compared_cases existed: the estimates' n.
    expect(formatSummaryTable([summary({})]).split('\n')[2]).toMatch(/^\| vector \| 7 \|/);
  });

  test('a comparison lists the metrics it could not compare, with the reason', () => {
    const out = formatComparison('a', 'b', [], [{ metric: 'recall@20', reason: 'only b (b) reports it' }]);
    expect(out).toContain('Not compared: recall@20 (only b (b) reports it)');
  });
});
