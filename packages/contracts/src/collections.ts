import { z } from 'zod';
import { ModelNameSchema } from './common.js';

export const ChunkingSchema = z
  .object({
    strategy: z.enum(['recursive', 'markdown']).default('recursive'),
    chunk_size: z.number().int().min(100).max(8000).default(1000),
    chunk_overlap: z.number().int().min(0).max(2000).default(150),
  })
  .refine((c) => c.chunk_overlap < c.chunk_size, { message: 'chunk_overlap must be smaller than chunk_size', path: ['chunk_overlap'] });
export type Chunking = z.infer<typeof ChunkingSchema>;

export const CreateCollectionBodySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).optional(),
    embedding_model: ModelNameSchema.nullable().optional(),
    embedding_dimensions: z.number().int().min(1).max(16000).optional(),
    generation_model: ModelNameSchema.nullable().optional(),
    rerank_model: ModelNameSchema.nullable().optional(),
    chunking: ChunkingSchema.optional(),
  })
  .strict();
export type CreateCollectionBody = z.infer<typeof CreateCollectionBodySchema>;

export const DocumentCountsSchema = z.object({
  queued: z.number().int(),
  processing: z.number().int(),
  ready: z.number().int(),
  failed: z.number().int(),
});

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
  created_at: z.string(),
});
export type Collection = z.infer<typeof CollectionSchema>;
