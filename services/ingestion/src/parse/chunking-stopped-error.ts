import { ChunkingError } from '../chunk/chunk-text.js';
import type { FailedLimit } from '../limits.js';

/** Why the parse pool stopped a chunking: its wall-clock budget or the worker's heap limit. */
export type ChunkingStoppedCode = 'chunk_timeout' | 'chunk_out_of_memory';

/**
 * Chunking ran in a parse worker (see parse-pool.ts) and overran a bound, so the worker was
 * terminated. `code` is the document's stored failure code.
 */
export class ChunkingStoppedError extends ChunkingError {
  override name = 'ChunkingStoppedError';
  constructor(
    readonly code: ChunkingStoppedCode,
    message: string,
    /** The bound it overran (stored with the failure, so raising it lets a retry through). */
    readonly limit: FailedLimit,
  ) {
    super(message);
  }
}
