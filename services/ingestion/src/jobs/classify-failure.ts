import { ERROR_CODES, type DocumentErrorCode, type DocumentFailureCode, type DocumentStage } from '@quire/contracts';
import { ProviderError } from '@quire/models';
import { AppError } from '@quire/server-kit';
import { ChunkingError } from '../chunk/chunk-text.js';
import { EmbeddingValidationError } from '../embed/embed-chunks.js';
import { IndexVersionChangedError } from '../index/index-chunks.js';
import { ChunkingStoppedError } from '../parse/chunking-stopped-error.js';
import { ParseError } from '../parse/extracted-text.js';
import { TooManyChunksError } from '../parse/too-many-chunks-error.js';
import type { FailedLimit } from '../limits.js';

export interface ClassifiedFailure {
  /** The document's stored `error.code`: ingestion's own, or the code of the call that failed it. */
  code: DocumentErrorCode;
  reason: string;
  stage: DocumentStage;
  retryable: boolean;
  /** The limit the file ran into, where one is the cause: stored with the failure (see FailedLimit). */
  limit?: FailedLimit;
}

/**
 * The code of an unexpected failure (a dropped database connection, a bug) by stage. Not
 * `parse_failed` or `chunking_failed`: those say the file is the cause (ParseError, ChunkingError),
 * and a retry of such a document is refused (documentFailureAdvice), while this may pass next time.
 */
const STAGE_CODE: Partial<Record<DocumentStage, DocumentFailureCode>> = {
  embedding: 'embedding_failed',
  indexing: 'indexing_failed',
};

const STAGE_NAME: Partial<Record<DocumentStage, string>> = {
  parsing: 'Parsing',
  chunking: 'Chunking',
  embedding: 'Embedding',
  indexing: 'Indexing',
};

export class NoTextError extends Error {
  override name = 'NoTextError';
}

/** Turns whatever a stage threw into a stored failure and a retry decision (flags, never messages). */
export function classifyFailure(error: unknown, stage: DocumentStage): ClassifiedFailure {
  const reason = (error as Error)?.message ?? String(error);
  if (error instanceof ParseError) return { code: error.code, reason, stage: 'parsing', retryable: false, ...(error.limit ? { limit: error.limit } : {}) };
  if (error instanceof NoTextError) return { code: 'no_text_extracted', reason, stage: 'parsing', retryable: false };
  // A chunking stopped at its deadline or heap limit would stop again: no retry.
  if (error instanceof ChunkingStoppedError) return { code: error.code, reason, stage: 'chunking', retryable: false, limit: error.limit };
  if (error instanceof TooManyChunksError) return { code: 'chunking_failed', reason, stage: 'chunking', retryable: false, limit: { name: 'maxChunks', value: error.limit } };
  if (error instanceof ChunkingError) return { code: 'chunking_failed', reason, stage: 'chunking', retryable: false };
  if (error instanceof EmbeddingValidationError) return { code: error.code, reason, stage, retryable: false };
  if (error instanceof IndexVersionChangedError) return { code: 'indexing_failed', reason, stage, retryable: true };
  // A provider's answer carries its own decision (its code's, or the provider's `x-should-retry`).
  if (ProviderError.is(error)) return { code: error.code, reason, stage, retryable: error.retryable };
  // Gateway answers (and our own AppErrors): whether another try a little later may pass is the code's (ERROR_CODES).
  if (AppError.is(error)) return { code: error.code, reason, stage, retryable: ERROR_CODES[error.code].retryable };
  // Anything else (a dropped database connection, a bug) may well pass on a second try.
  return { code: STAGE_CODE[stage] ?? 'ingestion_failed', reason, stage, retryable: true };
}

export function failureMessage(failure: ClassifiedFailure, attempts: number): string {
  const what = STAGE_NAME[failure.stage] ?? 'Ingestion';
  const tries = failure.retryable ? ` after ${attempts} attempt${attempts === 1 ? '' : 's'}` : '';
  return `${what} failed${tries}: ${failure.reason}`;
}
