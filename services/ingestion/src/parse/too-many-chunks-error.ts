import { ChunkingError } from '../chunk/chunk-text.js';
import { LIMIT_SETTING } from '../limits.js';

/**
 * A document gave more chunks than the caller's limit. Raised in the parse worker, so the chunks
 * themselves never cross to the service's thread.
 */
export class TooManyChunksError extends ChunkingError {
  override name = 'TooManyChunksError';
  constructor(
    readonly count: number,
    readonly limit: number,
  ) {
    super(`The document gives ${count} chunks; the limit is ${limit} (${LIMIT_SETTING.maxChunks}).`);
  }
}
