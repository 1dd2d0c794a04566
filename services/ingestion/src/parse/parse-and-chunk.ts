import type { Chunking } from '@quire/contracts';
import { chunkText, type ChunkDraft } from '../chunk/chunk-text.js';
import { parseDocument } from './parse-document.js';
import type { ParseLimits, ParsedDocument } from './parsed-document.js';
import { TooManyChunksError } from './too-many-chunks-error.js';

/** What the service needs of a parse once chunking is done; the extracted text stays in the worker. */
export interface ParseSummary extends Pick<ParsedDocument, 'pagesTotal' | 'scannedPages' | 'warnings'> {
  /** Whether the extracted text holds anything but whitespace (a document without text is not chunked). */
  hasText: boolean;
}

export interface ChunkedDocument extends ParseSummary {
  chunks: ChunkDraft[];
}

export interface ParseAndChunkOptions {
  /** More chunks than this fail the document with TooManyChunksError. */
  maxChunks?: number;
  /** Called between the two steps: parsing is done, chunking starts. */
  onParsed?: (summary: ParseSummary) => void;
}

/**
 * Parses a document and chunks its text, in one go. Runs inside the parse worker (see
 * parse-pool.ts), so chunking is bounded like parsing; never call it on the service's own thread.
 * The chunks are exactly `chunkText(await parseDocument(...), chunking)`.
 */
export async function parseAndChunk(
  bytes: Uint8Array,
  mime: string,
  limits: ParseLimits,
  chunking: Chunking,
  options: ParseAndChunkOptions = {},
): Promise<ChunkedDocument> {
  const parsed = await parseDocument(bytes, mime, limits);
  const summary: ParseSummary = { pagesTotal: parsed.pagesTotal, scannedPages: parsed.scannedPages, warnings: parsed.warnings, hasText: /\S/.test(parsed.text) };
  options.onParsed?.(summary);
  // Whitespace-only text gives no chunks (the chunker drops blank pieces), so it is not chunked at all.
  const chunks = summary.hasText ? await chunkText(parsed, chunking) : [];
  if (options.maxChunks !== undefined && chunks.length > options.maxChunks) throw new TooManyChunksError(chunks.length, options.maxChunks);
  return { ...summary, chunks };
}
