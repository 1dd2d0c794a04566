import { z } from 'zod';
import { MetadataSchema, UsageSummarySchema } from './common.js';

export const SearchModeSchema = z.enum(['hybrid', 'vector', 'keyword']);
export type SearchMode = z.infer<typeof SearchModeSchema>;

export const SearchFiltersSchema = z
  .object({
    document_ids: z.array(z.string().uuid()).max(1000).optional(),
    /** Exact match on metadata keys; an array value matches when it contains the given string. */
    metadata: MetadataSchema.optional(),
  })
  .strict();
export type SearchFilters = z.infer<typeof SearchFiltersSchema>;

export const SearchBodySchema = z
  .object({
    query: z.string().trim().min(1, 'query must not be empty').max(4000),
    top_k: z.number().int().min(1).max(100).default(10),
    mode: SearchModeSchema.optional(),
    filters: SearchFiltersSchema.optional(),
  })
  .strict();
export type SearchBody = z.infer<typeof SearchBodySchema>;

export const SearchResultSchema = z.object({
  rank: z.number().int(),
  chunk_id: z.string(),
  document_id: z.string(),
  document_title: z.string().nullable(),
  text: z.string(),
  score: z.number(),
  scores: z.object({ vector: z.number().optional(), keyword: z.number().optional(), fused: z.number().optional() }),
  page_start: z.number().int().nullable(),
  page_end: z.number().int().nullable(),
  heading_path: z.array(z.string()),
  char_start: z.number().int(),
  char_end: z.number().int(),
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
    conversation_id: z.string().uuid().optional(),
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
});
export type Citation = z.infer<typeof CitationSchema>;

export const AnswerResponseSchema = z.object({
  query_id: z.string(),
  answer: z.string(),
  citations: z.array(CitationSchema),
  usage: UsageSummarySchema,
  timings_ms: z.record(z.string(), z.number()),
});
export type AnswerResponse = z.infer<typeof AnswerResponseSchema>;
