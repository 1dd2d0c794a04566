import { z } from 'zod';
import { FusionPresetSchema, FusionSettingsSchema, ModelNameSchema, SearchModeSchema, UuidSchema } from '@quire/contracts';
import { DEFAULT_MARGIN } from './promotion.js';

export const RelevantSchema = z
  .object({
    document_id: UuidSchema.optional(),
    chunk_id: UuidSchema.optional(),
    /** Graded relevance (gain in nDCG); 1 when not given. */
    grade: z.number().min(0).max(10).default(1),
  })
  .strict()
  .refine((r) => r.document_id || r.chunk_id, { message: 'give document_id or chunk_id' });
export type Relevant = z.infer<typeof RelevantSchema>;

export const EvalCaseBodySchema = z
  .object({
    question: z.string().trim().min(1).max(4000),
    relevant: z.array(RelevantSchema).max(1000).default([]),
    /** Shorthand for relevant documents of grade 1. */
    relevant_document_ids: z.array(UuidSchema).max(1000).optional(),
    reference_answer: z.string().max(20_000).optional(),
    external_id: z.string().max(200).optional(),
  })
  .strict();
export type EvalCaseBody = z.infer<typeof EvalCaseBodySchema>;

export const CreateEvalSetSchema = z
  .object({
    collection_id: UuidSchema,
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).optional(),
    cases: z.array(EvalCaseBodySchema).max(10_000).optional(),
  })
  .strict();

export const AddCasesSchema = z.union([z.array(EvalCaseBodySchema).min(1).max(10_000), z.object({ cases: z.array(EvalCaseBodySchema).min(1).max(10_000) }).strict()]);

export const BeirImportSchema = z
  .object({
    collection_id: UuidSchema,
    name: z.string().trim().min(1).max(200),
    queries: z.array(z.object({ _id: z.union([z.string(), z.number()]).transform(String), text: z.string().min(1).max(4000) }).passthrough()).min(1).max(20_000),
    qrels: z.array(z.object({ query_id: z.union([z.string(), z.number()]).transform(String), corpus_id: z.union([z.string(), z.number()]).transform(String), grade: z.number().min(0).max(10).default(1) }).strict()).min(1).max(200_000),
  })
  .strict();

export const GenerateSetSchema = z
  .object({
    collection_id: UuidSchema,
    name: z.string().trim().min(1).max(200),
    model: ModelNameSchema,
    count: z.number().int().min(1).max(200).default(20),
    seed: z.number().int().default(42),
  })
  .strict();

export const ConfigurationSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    /** An index version of the collection (an embedding model); default: the current one when the run is created. */
    index_version_id: UuidSchema.optional(),
    mode: SearchModeSchema.default('hybrid'),
    preset: FusionPresetSchema.optional(),
    fusion: FusionSettingsSchema.optional(),
    /** null: no rerank; a model: rerank with it; absent: the collection's setting. */
    rerank_model: ModelNameSchema.nullable().optional(),
    candidate_pool: z.number().int().min(1).max(200).optional(),
    top_k: z.number().int().min(1).max(100).default(10),
    /** Generate answers with this model (null/absent: retrieval only, unless `answer` is true). */
    generation_model: ModelNameSchema.nullable().optional(),
    /** Generate answers with the collection's generation model. */
    answer: z.boolean().default(false),
  })
  .strict();
export type Configuration = z.infer<typeof ConfigurationSchema>;
/**
 * A configuration as a benchmark stores it (`benchmarks.configurations`): with the index version and
 * the models it resolved to when the run was created, so every case of the run uses the same ones
 * whatever the collection's settings become meanwhile. Not strict, so a run stored before a field was
 * removed still reads.
 */
export const StoredConfigurationSchema = z.object({
  ...ConfigurationSchema.shape,
  resolved_index_version_id: z.string().nullable(),
  /**
   * The reranker the configuration uses (its own, or the collection's when it names none); null: no
   * rerank. Absent on runs created before models were pinned: those read the collection's current one.
   */
  resolved_rerank_model: z.string().nullable().optional(),
  /**
   * The model that writes the answers (its own, or the collection's for `answer: true`); null when
   * the configuration only retrieves. Absent on runs created before models were pinned (as above).
   */
  resolved_generation_model: z.string().nullable().optional(),
});
export type StoredConfiguration = z.infer<typeof StoredConfigurationSchema>;

export const CreateBenchmarkSchema = z
  .object({
    eval_set_id: UuidSchema,
    configurations: z.array(ConfigurationSchema).min(1).max(12),
    budget_usd: z.number().positive().max(100_000).optional(),
    /** Grades answers (correctness, faithfulness); without it only citation precision is measured. */
    judge_model: ModelNameSchema.optional(),
  })
  .strict()
  .refine((b) => new Set(b.configurations.map((c) => c.name)).size === b.configurations.length, { message: 'configuration names must be unique', path: ['configurations'] });

/** `POST /v1/benchmarks/:id/resume`: optionally a new cap (e.g. raised for a run stopped by its budget). */
export const ResumeBenchmarkSchema = z
  .object({
    budget_usd: z.number().positive().max(100_000).optional(),
  })
  .strict();

export const ReplaySchema = z.object({ configuration: ConfigurationSchema }).strict();
export const ToEvalCaseSchema = z
  .object({ eval_set_id: UuidSchema, relevant_document_ids: z.array(UuidSchema).max(1000).optional(), reference_answer: z.string().max(20_000).optional() })
  .strict();
export const PromoteSchema = z
  .object({
    force: z.boolean().default(false),
    /** Non-inferiority margin on nDCG@10. */
    margin: z.number().min(0).max(0.2).default(DEFAULT_MARGIN),
    benchmark_id: UuidSchema.optional(),
  })
  .strict();
export const QualityQuerySchema = z.object({ from: z.string().datetime({ offset: true }).optional(), to: z.string().datetime({ offset: true }).optional() });
