import { z } from 'zod';
import { MetadataSchema, unstorableTextReason } from './common.js';

export const DocumentStatusSchema = z.enum(['queued', 'processing', 'ready', 'failed']);
export type DocumentStatus = z.infer<typeof DocumentStatusSchema>;

export const DocumentStageSchema = z.enum(['queued', 'parsing', 'chunking', 'embedding', 'indexing', 'done']);
export type DocumentStage = z.infer<typeof DocumentStageSchema>;

/**
 * A document's metadata as a caller sets it. `access_groups` restricts who may read the document, so
 * it must say so unambiguously: a list of non-empty group names (`[]` restricts nothing). Anything
 * else (`"hr"`, `null`, `[1]`) is refused rather than read as "no restriction".
 */
export const DocumentMetadataSchema = MetadataSchema.superRefine((metadata, ctx) => {
  if (!('access_groups' in metadata)) return;
  const groups = metadata.access_groups;
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string' || g.length === 0)) {
    ctx.addIssue({ code: 'custom', path: ['access_groups'], message: 'must be a list of non-empty group names, e.g. ["hr"]' });
  }
});

/** A document title: text Postgres can store (no NUL character). */
export const DocumentTitleSchema = z
  .string()
  .max(500)
  .superRefine((title, ctx) => {
    const reason = unstorableTextReason(title, 'text');
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  });

/** A document's latest replacement upload not swapped in yet (`replacement.status`); a swapped-in one is the document's content. */
export const ReplacementStatusSchema = z.enum(['queued', 'processing', 'failed']);
export type ReplacementStatus = z.infer<typeof ReplacementStatusSchema>;

/** A query-string filter value: text Postgres can store (no NUL), bounded. */
const filterText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .superRefine((text, ctx) => {
      const reason = unstorableTextReason(text, 'text');
      if (reason) ctx.addIssue({ code: 'custom', message: reason });
    });

/** One tag, or several (`?tag=a&tag=b`): documents whose `metadata.tags` holds at least one, as search's `filters.tags`. */
const TagFilterSchema = z
  .union([filterText(200), z.array(filterText(200)).min(1).max(100)])
  .transform((tags) => [...new Set(Array.isArray(tags) ? tags : [tags])].sort());

/**
 * `GET /v1/collections/:id/documents`: documents (not replacement rows), oldest first, keyset-paged.
 * Filters combine (AND). `status`: the document's own; `replacement_status`: its latest replacement
 * upload's, the one it shows as `replacement` (so `replacement_status=failed` finds documents whose new
 * version failed while the document itself stays `ready`); `tag`: see TagFilterSchema; `name`: a
 * case-insensitive substring of the title or the file name. A `next_cursor` is valid only with the
 * filters of the request that returned it. Any other parameter is refused (400 naming it).
 */
export const ListDocumentsQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(500).optional(),
    status: DocumentStatusSchema.optional(),
    replacement_status: ReplacementStatusSchema.optional(),
    tag: TagFilterSchema.optional(),
    name: filterText(200).optional(),
  })
  .strict();
export type ListDocumentsQuery = z.infer<typeof ListDocumentsQuerySchema>;

/**
 * `PATCH /v1/documents/:id`: a document's description, without a new upload. `metadata` replaces the
 * whole object (a key left out is removed), checked as uploads check it (`access_groups` included: who
 * may read the document follows it at once); `title: null` clears the title. At least one of them.
 */
export const UpdateDocumentBodySchema = z
  .object({
    title: DocumentTitleSchema.nullable().optional(),
    metadata: DocumentMetadataSchema.optional(),
  })
  .strict()
  .refine((body) => body.title !== undefined || body.metadata !== undefined, { message: "send 'title', 'metadata' or both" });
export type UpdateDocumentBody = z.infer<typeof UpdateDocumentBodySchema>;

/**
 * Whether a document's chunks get vectors: `vectors` where its collection's current index version has
 * an embedding model, `none` where the collection is keyword-only (BM25 alone).
 */
export const DocumentEmbeddingSchema = z.enum(['vectors', 'none']);
export type DocumentEmbedding = z.infer<typeof DocumentEmbeddingSchema>;

/**
 * A document's progress. Finished is `stage: 'done'` (with `status: 'ready'`) whatever the counts say.
 * `chunks_embedded` counts chunks with a vector out of `chunks_total`; it applies only where
 * `embedding` is `vectors`. Where `embedding` is `none` no chunk is ever embedded, `chunks_embedded`
 * stays 0 (a number still, for clients that read it as one) and does not mean unfinished.
 */
export const DocumentProgressSchema = z.object({
  stage: DocumentStageSchema,
  pages_parsed: z.number().int().nullable(),
  pages_total: z.number().int().nullable(),
  chunks_total: z.number().int().nullable(),
  chunks_embedded: z.number().int(),
  embedding: DocumentEmbeddingSchema,
  attempts: z.number().int(),
});

/** A failed document's error; see DocumentSchema's `error`. */
export const DocumentErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  stage: z.string().nullable(),
  retryable: z.boolean(),
  action: z.string(),
  /**
   * Only where the document failed under one of ingestion's limits: the setting that sets it and the
   * value it failed under (in the setting's units). A retry passes once the limit is raised above it.
   */
  limit: z.object({ setting: z.string(), failed_under: z.number() }).optional(),
});
export type DocumentError = z.infer<typeof DocumentErrorSchema>;

export const DocumentSchema = z.object({
  id: z.string(),
  collection_id: z.string(),
  title: z.string().nullable(),
  filename: z.string().nullable(),
  mime_type: z.string(),
  byte_size: z.number().int(),
  content_sha256: z.string(),
  metadata: MetadataSchema,
  status: DocumentStatusSchema,
  progress: DocumentProgressSchema,
  /**
   * Why a `failed` document failed (null otherwise). `retryable` and `action` are derived from `code`
   * (documentFailureAdvice): whether `POST /v1/documents/{id}/retry` can succeed (now, or after the fix
   * `action` names), and what a person should do next.
   */
  error: DocumentErrorSchema.nullable(),
  job_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type DocumentView = z.infer<typeof DocumentSchema>;
