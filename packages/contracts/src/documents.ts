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

export const DocumentProgressSchema = z.object({
  stage: DocumentStageSchema,
  pages_parsed: z.number().int().nullable(),
  pages_total: z.number().int().nullable(),
  chunks_total: z.number().int().nullable(),
  chunks_embedded: z.number().int(),
  attempts: z.number().int(),
});

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
  error: z.object({ code: z.string(), message: z.string(), stage: z.string().nullable() }).nullable(),
  job_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type DocumentView = z.infer<typeof DocumentSchema>;
