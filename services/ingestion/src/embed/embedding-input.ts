import { createHash } from 'node:crypto';
import { chunkReading } from '@quire/contracts';

/** What of a chunk is embedded: its text, and the context it cannot be read without (a table's header). */
export interface EmbeddableChunk {
  text: string;
  context?: string | null;
}

/**
 * The text sent to the embedding model for a chunk: its context above its text, the way the rows
 * sit under their header in the document. Ingestion and index-version builds both embed through
 * this, so a vector is the same whichever of them made it. A chunk without context is embedded as
 * its text alone, byte for byte as before contexts existed, so vectors cached then stay valid.
 */
export function embeddingInput(chunk: EmbeddableChunk): string {
  return chunkReading(chunk);
}

/**
 * The embedding cache key of a chunk (stored as `chunks.content_sha256`): the SHA-256 of what is
 * embedded, not of the text alone, so two chunks with the same rows under different headers never
 * share a vector. Without context it is the hash of the text, as it always was.
 */
export function embeddingKey(chunk: EmbeddableChunk): string {
  return createHash('sha256').update(embeddingInput(chunk)).digest('hex');
}
