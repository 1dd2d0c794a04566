import { z } from 'zod';

/**
 * Where a chunk runs into another section: `at` is an offset in the chunk's text, `heading_path` the
 * section's headings. Ingestion writes a chunk's list to `chunks.marks` (migration 0021); retrieval
 * reads it back so a citation names the section its sentence is in.
 */
export const SectionMarkSchema = z.object({
  at: z.number().int(),
  heading_path: z.array(z.string()),
});
export type SectionMark = z.infer<typeof SectionMarkSchema>;

/** `chunks.marks`: NULL when the chunk stays in one section. */
export const ChunkMarksSchema = z.array(SectionMarkSchema).nullable();
