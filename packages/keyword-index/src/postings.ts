import type { Queryable } from '@quire/db';
import { analyze, ANALYZER_VERSION, primaryTokens, type AnalyzerName } from './analyzer.js';

export interface ChunkText {
  chunkId: string;
  text: string;
}

export interface PostingRows {
  chunkIds: string[];
  lengths: number[];
  terms: string[];
  /**
   * Each posting's chunk as its 1-based place in `chunkIds`: the statement joins it back to the id
   * and length. Sending the 36-character id and the length with every posting (about 66 a chunk)
   * cost more to serialise and parse than the rest of the posting.
   */
  termChunks: number[];
  tfs: number[];
  /** Postgres array literals (`{1,5}`): unnest would flatten a 2-D int array. */
  positions: string[];
}

/** What the index stores for some chunks: per-chunk lengths and one posting per (term, chunk). */
export function buildPostings(chunks: ChunkText[], analyzer: AnalyzerName): PostingRows {
  const rows: PostingRows = { chunkIds: [], lengths: [], terms: [], termChunks: [], tfs: [], positions: [] };
  for (const [index, chunk] of chunks.entries()) {
    const tokens = analyze(chunk.text, analyzer);
    const byTerm = new Map<string, number[]>();
    for (const t of tokens) {
      const list = byTerm.get(t.term);
      if (list) list.push(t.position);
      else byTerm.set(t.term, [t.position]);
    }
    rows.chunkIds.push(chunk.chunkId);
    // A token's other forms (accent-folded) share its position and do not lengthen the chunk.
    rows.lengths.push(primaryTokens(tokens).length);
    for (const [term, positions] of byTerm) {
      rows.terms.push(term);
      rows.termChunks.push(index + 1);
      rows.tfs.push(positions.length);
      rows.positions.push(`{${positions.join(',')}}`);
    }
  }
  return rows;
}

/**
 * What `bm25_chunks.analyzer` records for a chunk indexed now with `analyzer`: the language and the
 * analyser's version (migration 0031). A chunk whose tag is not this is rebuilt in the background.
 */
export function analyzerTag(analyzer: AnalyzerName): string {
  return `${analyzer}:${ANALYZER_VERSION}`;
}

/** The analyser a collection indexes with (`search_settings.language`); English unless set. */
export async function collectionAnalyzer(db: Queryable, collectionId: string): Promise<AnalyzerName> {
  const r = await db.query<{ language: string | null }>(`SELECT search_settings->>'language' AS language FROM collections WHERE id = $1`, [collectionId]);
  return r.rows[0]?.language === 'simple' ? 'simple' : 'english';
}

/**
 * Indexes chunks for BM25. Call it inside the transaction that inserts the chunks: collection and
 * term statistics are kept by triggers in the same transaction, so a search never sees postings
 * without their chunks or statistics that disagree with the postings.
 */
export async function writePostings(tx: Queryable, collectionId: string, chunks: ChunkText[], options: { analyzer?: AnalyzerName } = {}): Promise<void> {
  if (chunks.length === 0) return;
  const analyzer = options.analyzer ?? (await collectionAnalyzer(tx, collectionId));
  const rows = buildPostings(chunks, analyzer);
  await tx.query(
    `INSERT INTO bm25_chunks (chunk_id, collection_id, length, analyzer) SELECT u.id, $1, u.len, $4 FROM unnest($2::uuid[], $3::int[]) AS u(id, len)`,
    [collectionId, rows.chunkIds, rows.lengths, analyzerTag(analyzer)],
  );
  if (rows.terms.length === 0) return;
  await tx.query(
    `INSERT INTO bm25_postings (collection_id, term, chunk_id, tf, doc_length, positions)
     SELECT $1, u.term, c.id, u.tf, c.len, u.positions::int[]
       FROM unnest($2::text[], $3::int[], $4::int[], $5::text[]) AS u(term, chunk, tf, positions)
       JOIN unnest($6::uuid[], $7::int[]) WITH ORDINALITY AS c(id, len, n) ON c.n = u.chunk`,
    [collectionId, rows.terms, rows.termChunks, rows.tfs, rows.positions, rows.chunkIds, rows.lengths],
  );
}

/** Indexes every chunk of one document (what ingestion calls right after inserting them). */
export async function writeDocumentPostings(tx: Queryable, collectionId: string, documentId: string): Promise<void> {
  const r = await tx.query<{ id: string; text: string }>(`SELECT id, text FROM chunks WHERE document_id = $1 AND index_version_id IS NULL ORDER BY ordinal`, [documentId]);
  await writePostings(tx, collectionId, r.rows.map((row) => ({ chunkId: row.id, text: row.text })));
}

/**
 * Removes chunks from the index. Deleting the chunks themselves does the same through the foreign
 * keys' cascade (and the statistics triggers), so this is for callers that keep the chunk rows.
 */
export async function deletePostings(tx: Queryable, chunkIds: string[]): Promise<void> {
  // Uses bm25_postings_chunk_idx; the statistics triggers follow.
  if (chunkIds.length === 0) return;
  await tx.query(`DELETE FROM bm25_postings WHERE chunk_id = ANY($1::uuid[])`, [chunkIds]);
  await tx.query(`DELETE FROM bm25_chunks WHERE chunk_id = ANY($1::uuid[])`, [chunkIds]);
}

/**
 * Re-indexes a whole collection's active chunk set (chunks written before the keyword index existed, a
 * new analyser, or an index version with other chunking activated); versions' own sets are skipped.
 * In one transaction: the caller holds the collection's lock exclusive (activation), so the collection
 * is then current (`keyword_index_state`) with the analyser read here.
 */
export async function rebuildCollectionPostings(tx: Queryable, collectionId: string): Promise<number> {
  await tx.query(`DELETE FROM bm25_postings WHERE collection_id = $1`, [collectionId]);
  await tx.query(`DELETE FROM bm25_chunks WHERE collection_id = $1`, [collectionId]);
  const r = await tx.query<{ id: string; text: string }>(`SELECT id, text FROM chunks WHERE collection_id = $1 AND index_version_id IS NULL`, [collectionId]);
  const analyzer = await collectionAnalyzer(tx, collectionId);
  for (let i = 0; i < r.rows.length; i += 500) {
    await writePostings(tx, collectionId, r.rows.slice(i, i + 500).map((row) => ({ chunkId: row.id, text: row.text })), { analyzer });
  }
  // A background rebuild in progress (its lease kept) finds nothing left to rewrite.
  await tx.query(
    `INSERT INTO keyword_index_state (collection_id, analyzer_version, language) VALUES ($1, $2, $3)
     ON CONFLICT (collection_id) DO UPDATE SET analyzer_version = EXCLUDED.analyzer_version, language = EXCLUDED.language, updated_at = now()`,
    [collectionId, ANALYZER_VERSION, analyzer],
  );
  return r.rows.length;
}
