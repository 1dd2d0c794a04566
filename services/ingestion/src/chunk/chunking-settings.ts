import { z } from 'zod';
import { CreateCollectionBodySchema } from '@quire/contracts';

/**
 * Chunking settings as ingestion understands them: the contract's strategies plus `tokens`
 * (sizes counted in cl100k_base tokens with js-tiktoken, whose ranks ship inside the npm package,
 * so no network is needed).
 */
export const IngestionChunkingSchema = z
  .object({
    strategy: z.enum(['recursive', 'markdown', 'tokens']).default('recursive'),
    chunk_size: z.number().int().min(16).max(8000).default(1000),
    chunk_overlap: z.number().int().min(0).max(2000).default(150),
  })
  .refine((c) => c.chunk_overlap < c.chunk_size, { message: 'chunk_overlap must be smaller than chunk_size', path: ['chunk_overlap'] });
export type IngestionChunking = z.infer<typeof IngestionChunkingSchema>;

export const CreateCollectionBodyWithChunkingSchema = CreateCollectionBodySchema.extend({ chunking: IngestionChunkingSchema.optional() });

export function sameChunking(a: IngestionChunking, b: IngestionChunking): boolean {
  return a.strategy === b.strategy && a.chunk_size === b.chunk_size && a.chunk_overlap === b.chunk_overlap;
}
