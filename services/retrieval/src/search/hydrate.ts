import { ChunkMarksSchema, type SectionMark } from '@quire/contracts';
import { safeReadJsonb, type Queryable } from '@quire/db';

export interface ChunkView {
  chunkId: string;
  documentId: string;
  documentTitle: string | null;
  text: string;
  /** A table's header for a chunk that starts inside the table (see migration 0018); shown above the text, never quoted. */
  context?: string;
  pageStart: number | null;
  pageEnd: number | null;
  headingPath: string[];
  /** Where the text runs into later sections (migration 0021): `at` is an offset in `text`. */
  sections?: SectionMark[];
  charStart: number;
  charEnd: number;
}

/** Loads what a result shows for the chunks that survived fusion (legs return ids and scores only). */
export async function loadChunks(db: Queryable, collectionId: string, chunkIds: string[]): Promise<Map<string, ChunkView>> {
  if (chunkIds.length === 0) return new Map();
  const result = await db.query<{
    id: string;
    document_id: string;
    title: string | null;
    text: string;
    context: string | null;
    page_start: number | null;
    page_end: number | null;
    heading_path: string[] | null;
    marks: unknown;
    char_start: number;
    char_end: number;
  }>(
    `SELECT c.id, c.document_id, d.title, c.text, c.context, c.page_start, c.page_end, c.heading_path, c.marks, c.char_start, c.char_end
FROM chunks c
JOIN documents d ON d.id = c.document_id
WHERE c.id = ANY($1::uuid[]) AND c.collection_id = $2`,
    [chunkIds, collectionId],
  );
  return new Map(
    result.rows.map((r): [string, ChunkView] => {
      // Marks only refine a citation's section: a value that does not match (a bug, a missed migration)
      // leaves the chunk's own heading path, rather than fail an employee's search over it.
      const read = safeReadJsonb(ChunkMarksSchema, r.marks, `chunks.marks (chunk ${r.id})`);
      const marks = read.success ? read.data : null;
      return [
        r.id,
        {
          chunkId: r.id,
          documentId: r.document_id,
          documentTitle: r.title,
          text: r.text,
          ...(r.context ? { context: r.context } : {}),
          pageStart: r.page_start === null ? null : Number(r.page_start),
          pageEnd: r.page_end === null ? null : Number(r.page_end),
          headingPath: r.heading_path ?? [],
          ...(marks ? { sections: marks } : {}),
          charStart: Number(r.char_start),
          charEnd: Number(r.char_end),
        },
      ];
    }),
  );
}
