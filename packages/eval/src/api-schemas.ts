import { z } from 'zod';
import type { ConfigSummary } from './report.js';
import type { PairedComparison } from './stats.js';

/**
 * What the eval client reads from Quire's API, checked as it arrives: a server of another version
 * fails here with the field that differs rather than deep in a report. Objects are loose (the API
 * may add fields); the per-configuration summaries and comparisons are the types `@quire/eval`
 * itself gives the server (report.ts, stats.ts), so only their envelope is checked.
 */
const EstimateSchema = z.object({ mean: z.number(), lower: z.number(), upper: z.number(), n: z.number() });

const ConfigSummarySchema = z.custom<ConfigSummary>(
  (v) => z.looseObject({ name: z.string(), cases_done: z.number(), metrics: z.record(z.string(), EstimateSchema) }).safeParse(v).success,
  'a configuration summary (name, cases_done, metrics)',
);

const PairedComparisonSchema = z.custom<PairedComparison>(
  (v) => z.looseObject({ metric: z.string(), n: z.number(), diff: EstimateSchema, p_value: z.number() }).safeParse(v).success,
  'a paired comparison (metric, n, diff, p_value)',
);

export const BenchmarkSchema = z.looseObject({
  id: z.string(),
  status: z.string(),
  error: z.string().nullable(),
  budget_usd: z.number().nullable(),
  spent_usd: z.union([z.string(), z.number()]).nullable(),
  progress: z.looseObject({ done: z.number(), total: z.number() }),
  summary: z.array(ConfigSummarySchema),
});
export type BenchmarkView = z.infer<typeof BenchmarkSchema>;

export const BenchmarkListSchema = z.looseObject({
  data: z.array(z.looseObject({ id: z.string(), status: z.string(), created_at: z.string(), configurations: z.array(z.string()) })),
  next_cursor: z.string().nullable(),
});

export const ComparisonSchema = z.looseObject({
  a: z.string(),
  b: z.string(),
  comparisons: z.array(PairedComparisonSchema),
  skipped: z.array(z.object({ metric: z.string(), reason: z.string() })),
});

/** Whatever the API creates answers with at least its id. */
export const CreatedSchema = z.looseObject({ id: z.string() });

/** A document upload's answer: the documents it created or found, in the order sent. */
export const UploadSchema = z.looseObject({ documents: z.array(z.looseObject({ id: z.string() })).min(1) });

export const DocumentStatusSchema = z.looseObject({ status: z.string(), error: z.unknown().optional() });

export const EvalSetImportSchema = z.looseObject({ id: z.string(), cases: z.number(), unmapped_count: z.number() });
export type EvalSetImport = z.infer<typeof EvalSetImportSchema>;
