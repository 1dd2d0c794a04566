import { z } from 'zod';
import { MetadataSchema, UsageSummarySchema, UuidSchema } from './common.js';

export const SearchModeSchema = z.enum(['hybrid', 'vector', 'keyword']);
export type SearchMode = z.infer<typeof SearchModeSchema>;

export const SearchFiltersSchema = z
  .object({
    document_ids: z.array(UuidSchema).max(1000).optional(),
    /** Exact match on metadata keys; an array value matches when it contains the given string. */
    metadata: MetadataSchema.optional(),
    /** Documents whose `metadata.tags` holds at least one of these. */
    tags: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
    /** On the document's upload time (ISO 8601). */
    created_after: z.string().datetime({ offset: true }).optional(),
    created_before: z.string().datetime({ offset: true }).optional(),
    /** Ranges on metadata dates (ISO 8601 strings, compared as such): `{"published": {"gte": "2024-01-01"}}`. */
    metadata_dates: z
      .record(
        z.string().min(1).max(100),
        z.object({ gte: z.string().max(40).optional(), lte: z.string().max(40).optional(), gt: z.string().max(40).optional(), lt: z.string().max(40).optional() }).strict(),
      )
      .optional(),
  })
  .strict();
export type SearchFilters = z.infer<typeof SearchFiltersSchema>;

/** Hybrid fusion without knobs: how much each leg counts in weighted reciprocal rank fusion. */
export const FusionPresetSchema = z.enum(['balanced', 'keyword-heavy', 'semantic-heavy']);
export type FusionPreset = z.infer<typeof FusionPresetSchema>;

export const FusionSettingsSchema = z
  .object({
    k: z.number().min(1).max(1000).optional(),
    weights: z.object({ vector: z.number().min(0).max(10).optional(), keyword: z.number().min(0).max(10).optional() }).strict().optional(),
  })
  .strict();
export type FusionSettings = z.infer<typeof FusionSettingsSchema>;

export const RerankRequestSchema = z.union([z.boolean(), z.object({ candidates: z.number().int().min(1).max(200).optional() }).strict()]);

/** Per-request overrides of the collection's search settings (all optional). */
export const SearchTuningShape = {
  preset: FusionPresetSchema.optional(),
  fusion: FusionSettingsSchema.optional(),
  /** Rerank with the collection's `rerank_model` (default: on when it has one). */
  rerank: RerankRequestSchema.optional(),
};

export const SearchBodySchema = z
  .object({
    query: z.string().trim().min(1, 'query must not be empty').max(4000),
    top_k: z.number().int().min(1).max(100).default(10),
    mode: SearchModeSchema.optional(),
    filters: SearchFiltersSchema.optional(),
    ...SearchTuningShape,
  })
  .strict();
export type SearchBody = z.infer<typeof SearchBodySchema>;

export const SearchResultSchema = z.object({
  rank: z.number().int(),
  chunk_id: z.string(),
  document_id: z.string(),
  document_title: z.string().nullable(),
  text: z.string(),
  /**
   * Set when the chunk starts inside a table past its header: the header and delimiter rows, which
   * the text (exactly the document between char_start and char_end) does not hold.
   */
  context: z.string().optional(),
  score: z.number(),
  scores: z.object({ vector: z.number().optional(), keyword: z.number().optional(), fused: z.number().optional(), rerank: z.number().optional() }),
  page_start: z.number().int().nullable(),
  page_end: z.number().int().nullable(),
  heading_path: z.array(z.string()),
  char_start: z.number().int(),
  char_end: z.number().int(),
  /** Set in multi-collection search. */
  collection_id: z.string().optional(),
});
export type SearchResult = z.infer<typeof SearchResultSchema>;

export const SearchResponseSchema = z.object({
  query_id: z.string(),
  mode: SearchModeSchema,
  results: z.array(SearchResultSchema),
  usage: UsageSummarySchema,
  timings_ms: z.record(z.string(), z.number()),
});
export type SearchResponse = z.infer<typeof SearchResponseSchema>;

export const AnswerBodySchema = z
  .object({
    question: z.string().trim().min(1, 'question must not be empty').max(4000),
    top_k: z.number().int().min(1).max(50).default(6),
    mode: SearchModeSchema.optional(),
    filters: SearchFiltersSchema.optional(),
    stream: z.boolean().default(false),
    conversation_id: UuidSchema.optional(),
    ...SearchTuningShape,
  })
  .strict();
export type AnswerBody = z.infer<typeof AnswerBodySchema>;

export const CitationSchema = z.object({
  index: z.number().int(),
  chunk_id: z.string(),
  document_id: z.string(),
  document_title: z.string().nullable(),
  page: z.number().int().nullable(),
  page_end: z.number().int().nullable(),
  heading_path: z.array(z.string()),
  char_start: z.number().int(),
  char_end: z.number().int(),
  quote: z.string(),
  /** Where the quote lies in the document's extracted text (`char_start`..`char_end` is the whole chunk), for highlighting. */
  quote_start: z.number().int().optional(),
  quote_end: z.number().int().optional(),
  /** False when the citing sentence shares too few words with the chunk, or states a figure none of its sources holds (kept, flagged). */
  supported: z.boolean().optional(),
  collection_id: z.string().optional(),
});
export type Citation = z.infer<typeof CitationSchema>;

export const AnswerResponseSchema = z.object({
  query_id: z.string(),
  answer: z.string(),
  citations: z.array(CitationSchema),
  /** True when the sources did not contain the answer (and the answer says so). */
  no_answer: z.boolean().optional(),
  /**
   * Why the answer ended, as OpenAI says it: `stop` (complete), `length` (cut at the model's output
   * limit: the answer is incomplete), `content_filter` (cut by the provider's filter).
   */
  finish_reason: z.enum(['stop', 'length', 'content_filter']).optional(),
  conversation_id: z.string().optional(),
  /** The standalone query a follow-up was rewritten into. */
  rewritten_query: z.string().optional(),
  usage: UsageSummarySchema,
  timings_ms: z.record(z.string(), z.number()),
});
export type AnswerResponse = z.infer<typeof AnswerResponseSchema>;

const CollectionIdsShape = { collection_ids: z.array(UuidSchema).min(1).max(20) };

/** `POST /v1/search`: one query over several collections (ranks fused, never raw scores). */
export const MultiSearchBodySchema = SearchBodySchema.extend(CollectionIdsShape).strict();
export type MultiSearchBody = z.infer<typeof MultiSearchBodySchema>;

/** `POST /v1/answer`: a grounded answer over several collections. */
export const MultiAnswerBodySchema = AnswerBodySchema.extend(CollectionIdsShape).strict();
export type MultiAnswerBody = z.infer<typeof MultiAnswerBodySchema>;

/** A collection's search settings (`PUT /v1/collections/:id/search-settings`). */
export const SearchSettingsSchema = z
  .object({
    preset: FusionPresetSchema.optional(),
    fusion: FusionSettingsSchema.optional(),
    bm25: z.object({ k1: z.number().min(0).max(3), b: z.number().min(0).max(1) }).strict().optional(),
    language: z.enum(['english', 'simple']).optional(),
    rerank_candidates: z.number().int().min(1).max(200).optional(),
  })
  .strict();
export type SearchSettings = z.infer<typeof SearchSettingsSchema>;

export const QueryFeedbackBodySchema = z.object({ rating: z.enum(['up', 'down']), comment: z.string().max(4000).optional() }).strict();
export type QueryFeedbackBody = z.infer<typeof QueryFeedbackBodySchema>;

/**
 * A chunk as it reads in full: its context (a table's header rows, for a chunk of a table's later
 * rows) above its text. What is embedded, reranked, shown to the answering model and checked for
 * support is this one reading, so none of them drifts from the others.
 */
export function chunkReading(chunk: { text: string; context?: string | null | undefined }): string {
  return chunk.context ? `${chunk.context}\n${chunk.text}` : chunk.text;
}
