import { z } from 'zod';
import { ModelNameSchema, unstorableTextReason } from './common.js';

/**
 * How a collection (or an index version) cuts documents into chunks, and the one place its defaults
 * and limits live: what `POST /v1/collections` and `POST /v1/collections/:id/index-versions` accept,
 * and how stored settings are read back (a stored `{}` means these defaults). `tokens` counts sizes
 * in cl100k_base tokens (js-tiktoken, whose ranks ship inside the npm package, so no network is
 * needed); the others count characters.
 */
export const ChunkingSchema = z
  .object({
    strategy: z.enum(['recursive', 'markdown', 'tokens']).default('recursive'),
    chunk_size: z.number().int().min(16).max(8000).default(1000),
    chunk_overlap: z.number().int().min(0).max(2000).default(150),
  })
  .refine((c) => c.chunk_overlap < c.chunk_size, { message: 'chunk_overlap must be smaller than chunk_size', path: ['chunk_overlap'] });
export type Chunking = z.infer<typeof ChunkingSchema>;

/** Whether two (parsed) settings cut the same chunks: an index version with other chunking has its own chunk set. */
export function sameChunking(a: Chunking, b: Chunking): boolean {
  return a.strategy === b.strategy && a.chunk_size === b.chunk_size && a.chunk_overlap === b.chunk_overlap;
}

/** Text for a text column: no NUL character, so a 400 names the field instead of the insert failing with a 500. */
const storable = (schema: z.ZodString) =>
  schema.superRefine((text, ctx) => {
    const reason = unstorableTextReason(text, 'text');
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  });
const CollectionNameSchema = storable(z.string().trim().min(1).max(200));
const CollectionDescriptionSchema = storable(z.string().max(2000));

export const CreateCollectionBodySchema = z
  .object({
    name: CollectionNameSchema,
    description: CollectionDescriptionSchema.optional(),
    embedding_model: ModelNameSchema.nullable().optional(),
    embedding_dimensions: z.number().int().min(1).max(16000).optional(),
    generation_model: ModelNameSchema.nullable().optional(),
    rerank_model: ModelNameSchema.nullable().optional(),
    chunking: ChunkingSchema.optional(),
  })
  .strict();
export type CreateCollectionBody = z.infer<typeof CreateCollectionBodySchema>;

/**
 * `PATCH /v1/collections/:id`: the settings read per request, which change without re-indexing. A
 * null clears a model (answers then need one again) or the description.
 */
export const UpdateCollectionBodySchema = z
  .object({
    name: CollectionNameSchema.optional(),
    description: CollectionDescriptionSchema.nullable().optional(),
    generation_model: ModelNameSchema.nullable().optional(),
    rerank_model: ModelNameSchema.nullable().optional(),
  })
  .strict();
export type UpdateCollectionBody = z.infer<typeof UpdateCollectionBodySchema>;

/** Settings the index was built with: a PATCH naming one is refused with `reindex_required`. */
export const REINDEX_ONLY_COLLECTION_FIELDS = ['embedding_model', 'embedding_dimensions', 'chunking'] as const;

export const DocumentCountsSchema = z.object({
  queued: z.number().int(),
  processing: z.number().int(),
  ready: z.number().int(),
  failed: z.number().int(),
});

/**
 * Documents whose latest replacement upload (`PUT /v1/documents/:id`) is not swapped in yet, by its
 * status: the same replacement each document shows as `replacement`, so `failed` is how many
 * `GET /v1/collections/:id/documents?replacement_status=failed` lists. Those documents stay counted
 * in `document_counts` under their own status (usually `ready`: they still serve their old content).
 */
export const ReplacementCountsSchema = z.object({
  queued: z.number().int(),
  processing: z.number().int(),
  failed: z.number().int(),
});
export type ReplacementCounts = z.infer<typeof ReplacementCountsSchema>;

/**
 * `GET /v1/collections`: the caller's collections and those granted to its team, oldest first,
 * keyset-paged (`next_cursor`, valid only with the same `name`); `name` is a case-insensitive
 * substring of the collection's name. Any other parameter is refused (400 naming it).
 */
export const ListCollectionsQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(100),
    cursor: z.string().max(500).optional(),
    name: storable(z.string().min(1).max(200)).optional(),
  })
  .strict();
export type ListCollectionsQuery = z.infer<typeof ListCollectionsQuerySchema>;

/**
 * What the collection's BM25 postings were built with: the keyword analyser's version and the
 * `search_settings.language` (null: not recorded yet). `rebuilding`: they are not what search uses now
 * (an older analyser, or the language changed) and are being rebuilt in the background, a document at
 * a time; the collection stays searchable meanwhile, each chunk matching by its old terms or its new.
 */
export const KeywordIndexStateSchema = z.object({
  analyzer_version: z.number().int().nullable(),
  language: z.enum(['english', 'simple']).nullable(),
  rebuilding: z.boolean(),
});
export type KeywordIndexState = z.infer<typeof KeywordIndexStateSchema>;

export const CollectionSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  embedding_model: z.string().nullable(),
  embedding_dimensions: z.number().int().nullable(),
  generation_model: z.string().nullable(),
  rerank_model: z.string().nullable(),
  chunking: ChunkingSchema,
  document_counts: DocumentCountsSchema,
  replacement_counts: ReplacementCountsSchema,
  keyword_index: KeywordIndexStateSchema,
  created_at: z.string(),
});
export type Collection = z.infer<typeof CollectionSchema>;

/**
 * Something a create or PATCH stored but that will likely not work, never a refusal: a model the
 * gateway's `GET /v1/models` does not list (`model_not_listed`: its provider is listed, so the model
 * may be newer than the catalog, or a typo; `provider_not_listed`: no model of its provider is), or
 * a list that could not be read (`model_list_unavailable`).
 */
export const ModelNameWarningSchema = z.object({
  code: z.enum(['model_not_listed', 'provider_not_listed', 'model_list_unavailable']),
  message: z.string(),
  param: z.string().optional(),
  model: z.string().optional(),
  suggestion: z.string().optional(),
});
export type ModelNameWarning = z.infer<typeof ModelNameWarningSchema>;

/** What create and PATCH answer: the collection as stored, with `warnings` (empty when none). */
export const CollectionWriteResponseSchema = CollectionSchema.extend({ warnings: z.array(ModelNameWarningSchema) });
export type CollectionWriteResponse = z.infer<typeof CollectionWriteResponseSchema>;
