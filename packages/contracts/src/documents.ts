import { z } from 'zod';
import { MetadataSchema } from './common.js';

export const DocumentStatusSchema = z.enum(['queued', 'processing', 'ready', 'failed']);
export type DocumentStatus = z.infer<typeof DocumentStatusSchema>;

export const DocumentStageSchema = z.enum(['queued', 'parsing', 'chunking', 'embedding', 'indexing', 'done']);
export type DocumentStage = z.infer<typeof DocumentStageSchema>;

export const CreateTextDocumentBodySchema = z
  .object({
    text: z.string().min(1, 'text must not be empty').max(20_000_000),
    title: z.string().max(500).optional(),
    metadata: MetadataSchema.optional(),
  })
  .strict();
export type CreateTextDocumentBody = z.infer<typeof CreateTextDocumentBodySchema>;

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
